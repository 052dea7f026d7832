"""Policy defaults and policy files (the same TOML the CLI reads)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Dict, Union

from . import _native
from .models import ExecutionPolicy, PolicyValidationError

# What load_policy() starts from when a file leaves a field out.
DEFAULT_POLICY: Dict[str, Any] = {
    "fuel_budget": 2_000_000_000,
    "preserve_logs": False,
    "mount_host_dir": "workspace",
    "guest_mount_path": "/app",
    "argv": ["python", "-I", "/app/user_code.py", "-X", "utf8"],
    "env": ExecutionPolicy().env,
}


def load_policy(path: Union[str, Path] = "config/policy.toml") -> ExecutionPolicy:
    """The policy in a TOML file, over DEFAULT_POLICY (`[env]` merged key by
    key). A missing file gives ExecutionPolicy(**DEFAULT_POLICY). The file is
    read by the library, exactly as `snakecage run --policy` reads it:
    unknown keys and wrong types are refused naming the file and key,
    relative host paths are resolved against the file's directory. Bad values
    raise PolicyValidationError; malformed TOML raises it too (naming the
    line)."""
    path = Path(path)
    base = ExecutionPolicy(**copy.deepcopy(DEFAULT_POLICY))
    if not path.exists():
        return base
    try:
        text = _native.load_policy_file(str(path), base._library_json())
    except _native.StatusError as e:
        raise PolicyValidationError(f"Invalid execution policy: {e.args[1]}") from None
    data = json.loads(text)
    data["additional_readonly_mounts"] = [tuple(m) for m in data["additional_readonly_mounts"]]
    return ExecutionPolicy(**data)


__all__ = ["DEFAULT_POLICY", "load_policy"]
