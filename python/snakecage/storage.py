"""Where sessions live, and the library's refusals as Python exceptions."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path, PurePosixPath
from typing import NoReturn, Optional, Union

from . import _native
from .models import SandboxExecutionError

_SEPARATORS = ("/", "\\", "..")


class StorageAdapter(ABC):
    """Where session directories live. snakecage's library keeps sessions on
    a local disk (DiskStorageAdapter); the interface is kept for callers that
    pass an adapter around."""

    @property
    @abstractmethod
    def workspace_root(self) -> Path:
        ...

    def session_path(self, session_id: str) -> Path:
        return self.workspace_root / session_id

    def workspace_path(self, session_id: str) -> Path:
        """What the guest sees: <root>/<id>/workspace."""
        return self.session_path(session_id) / "workspace"

    def logs_path(self, session_id: str) -> Path:
        """Kept output (preserve_logs): <root>/<id>/logs, beside the workspace."""
        return self.session_path(session_id) / "logs"


class DiskStorageAdapter(StorageAdapter):
    def __init__(self, workspace_root: Union[str, Path, None] = None) -> None:
        self._root = Path(workspace_root if workspace_root is not None else "workspace").resolve()

    @property
    def workspace_root(self) -> Path:
        return self._root

    def __repr__(self) -> str:
        return f"DiskStorageAdapter({str(self._root)!r})"


def storage_for(workspace_root: Union[str, Path, None],
                storage_adapter: Optional[StorageAdapter]) -> StorageAdapter:
    return storage_adapter if storage_adapter is not None else DiskStorageAdapter(workspace_root)


def check_session_id(session_id: str, allow_non_uuid: bool = True) -> None:
    """ValueError for an id the library refuses, before anything on disk."""
    if not isinstance(session_id, str):
        raise ValueError(f"Invalid session_id {session_id!r}: must be a str")
    if any(s in session_id for s in _SEPARATORS):
        raise ValueError(f"Invalid session_id {session_id!r}: must not contain path separators "
                         f"('/', '\\\\' or '..')")
    try:
        _native.check_session_id(session_id, allow_non_uuid)
    except _native.StatusError as e:
        raise ValueError(f"Invalid session_id: {e.args[1]}") from None


def check_relative_path(relative_path: Union[str, Path]) -> str:
    """The path as the library takes it; ValueError when it leaves the
    workspace by its spelling (the kernel refuses symlinks that lead out)."""
    text = str(relative_path)
    pure = PurePosixPath(text)
    if pure.is_absolute() or ".." in pure.parts or "\\" in text:
        raise ValueError(f"Path {text!r} escapes session workspace")
    return text


def raise_for(error: "_native.StatusError", *, directory: Optional[Path] = None) -> NoReturn:
    """The contract's exception for a refusal of the library."""
    code, message = error.args
    if code == "invalid_argument":
        # The library's code says "bad argument"; which one is read off the
        # filesystem, never off the message.
        if directory is not None and directory.is_dir() and not directory.is_symlink():
            raise IsADirectoryError(message) from None
        raise ValueError(message) from None
    if code == "not_found":
        raise FileNotFoundError(message) from None
    if code == "already_exists":
        raise FileExistsError(message) from None
    if code == "permission_denied":
        raise PermissionError(message) from None
    raise SandboxExecutionError(message) from None
