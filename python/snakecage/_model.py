"""A small model base with the method names pydantic v2 users call.

No pydantic: Debian bookworm's is v1, and the package must install from
Debian alone. A model declares its fields with defaults; construction takes
keywords (unknown ones ignored), attributes stay assignable, equality is by
value, and model_dump / model_dump_json / model_validate / model_copy behave
as pydantic's do for plain data.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Callable, ClassVar, Dict, Tuple, TypeVar

M = TypeVar("M", bound="Model")

_MISSING = object()


class Model:
    # name -> factory of the default value, in field order.
    _fields: ClassVar[Dict[str, Callable[[], Any]]] = {}

    def __init__(self, **data: Any) -> None:
        for name, default in self._fields.items():
            value = data.get(name, _MISSING)
            object.__setattr__(self, name, default() if value is _MISSING else value)
        self._after_init()

    def _after_init(self) -> None:
        """Checks and fills in fields after construction (subclasses)."""

    @classmethod
    def model_fields_names(cls) -> Tuple[str, ...]:
        return tuple(cls._fields)

    def model_dump(self, *, mode: str = "python", exclude_none: bool = False) -> Dict[str, Any]:
        out = {}
        for name in self._fields:
            value = _dump(getattr(self, name), mode)
            if exclude_none and value is None:
                continue
            out[name] = value
        return out

    def model_dump_json(self, *, indent: int | None = None, exclude_none: bool = False) -> str:
        return json.dumps(self.model_dump(mode="json", exclude_none=exclude_none), indent=indent)

    @classmethod
    def model_validate(cls: type[M], obj: Any) -> M:
        if isinstance(obj, cls):
            return cls(**obj.model_dump())
        if isinstance(obj, dict):
            return cls(**obj)
        raise TypeError(f"{cls.__name__}.model_validate expects a dict or a {cls.__name__}, "
                        f"got {type(obj).__name__}")

    @classmethod
    def model_validate_json(cls: type[M], text: str | bytes) -> M:
        return cls.model_validate(json.loads(text))

    def model_copy(self: M, *, update: Dict[str, Any] | None = None, deep: bool = False) -> M:
        data = {name: getattr(self, name) for name in self._fields}
        if deep:
            data = copy.deepcopy(data)
        data.update(update or {})
        return type(self)(**data)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.model_dump() == other.model_dump()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # mutable, like pydantic models

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({fields})"


def _dump(value: Any, mode: str) -> Any:
    if isinstance(value, Model):
        return value.model_dump(mode=mode)
    if isinstance(value, dict):
        return {k: _dump(v, mode) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_dump(v, mode) for v in value]
        return items if mode == "json" or isinstance(value, list) else tuple(items)
    if mode == "json" and hasattr(value, "__fspath__"):
        return str(value)
    return value
