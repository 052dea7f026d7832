"""The values of the API: runtime type, policy, result, session records,
and the package's own exceptions."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any, Dict, List, Optional, Tuple

from . import _native
from ._model import Model


class PolicyValidationError(Exception):
    """A policy the sandbox cannot enforce; the message names the field."""


class SandboxExecutionError(Exception):
    """The host could not run an execution (not what the guest did: that is
    always a SandboxResult)."""


class RuntimeType(str, Enum):
    PYTHON = "python"
    JAVASCRIPT = "javascript"


def _default_env() -> Dict[str, str]:
    # The library's default environment (one definition: the C++ policy's).
    return dict(_LIBRARY_DEFAULTS["env"])


_LIBRARY_DEFAULTS: Dict[str, Any] = json.loads(_native.default_policy_json())
_DEFAULT_ARGV = ["python", "-I", "/app/user_code.py", "-X", "utf8"]


class ExecutionPolicy(Model):
    """What an execution may do. Validated at construction (host paths are
    checked only when an execution needs them) and again, whole, by the
    library before each execution: the sandbox enforces exactly this object,
    including changes made to it after construction."""

    fuel_budget: int
    memory_bytes: int
    stdout_max_bytes: int
    stderr_max_bytes: int
    workspace_max_bytes: int
    mount_host_dir: str
    guest_mount_path: str
    mount_data_dir: Optional[str]
    guest_data_path: Optional[str]
    argv: List[str]
    env: Dict[str, str]
    timeout_seconds: Optional[float]
    preserve_logs: bool
    additional_readonly_mounts: List[Tuple[str, str]]

    _fields = {
        "fuel_budget": lambda: 5_000_000_000,
        "memory_bytes": lambda: 128_000_000,
        "stdout_max_bytes": lambda: 2_000_000,
        "stderr_max_bytes": lambda: 1_000_000,
        "workspace_max_bytes": lambda: 1_000_000_000,
        "mount_host_dir": lambda: "workspace",
        "guest_mount_path": lambda: "/app",
        "mount_data_dir": lambda: None,
        "guest_data_path": lambda: None,
        "argv": lambda: list(_DEFAULT_ARGV),
        "env": _default_env,
        "timeout_seconds": lambda: None,
        "preserve_logs": lambda: False,
        "additional_readonly_mounts": lambda: [],
    }

    def _after_init(self) -> None:
        if self.mount_data_dir is not None and self.guest_data_path is None:
            self.guest_data_path = "/data"
        if isinstance(self.additional_readonly_mounts, list):
            self.additional_readonly_mounts = [
                tuple(m) if isinstance(m, (list, tuple)) else m
                for m in self.additional_readonly_mounts
            ]
        self._check(probe_host_paths=True)

    # The policy as the library reads it (PolicyToJson's form).
    # keep_state: the session's Python state kept between executions (the
    # sandbox's auto_persist_globals).
    def _library_json(self, *, probe_host_paths: bool = False, keep_state: bool = False) -> str:
        mounts = []
        for i, mount in enumerate(self.additional_readonly_mounts):
            if not (isinstance(mount, (list, tuple)) and len(mount) == 2):
                raise PolicyValidationError(
                    f"Invalid execution policy: additional_readonly_mounts[{i}]: "
                    f"must be a (host, guest) pair (got {mount!r})")
            host, guest = mount
            mounts.append(["/" if probe_host_paths else _path(host), guest])
        data_dir = self.mount_data_dir
        if data_dir is not None:
            data_dir = "/" if probe_host_paths else _path(data_dir)
        env = self.env
        if not isinstance(env, dict):
            raise PolicyValidationError(
                f"Invalid execution policy: env: must be a dict of str to str (got {env!r})")
        fields = {
            "fuel_budget": self.fuel_budget,
            "memory_bytes": self.memory_bytes,
            "stdout_max_bytes": self.stdout_max_bytes,
            "stderr_max_bytes": self.stderr_max_bytes,
            "workspace_max_bytes": self.workspace_max_bytes,
            "mount_host_dir": _path(self.mount_host_dir),
            "guest_mount_path": self.guest_mount_path,
            "mount_data_dir": data_dir,
            "guest_data_path": self.guest_data_path,
            "argv": self.argv,
            "env": env,
            "timeout_seconds": self.timeout_seconds,
            "preserve_logs": self.preserve_logs,
            "keep_state": keep_state,
            "additional_readonly_mounts": mounts,
        }
        try:
            return json.dumps(fields)
        except (TypeError, ValueError):
            for name, value in fields.items():
                try:
                    json.dumps(value)
                except (TypeError, ValueError):
                    raise PolicyValidationError(
                        f"Invalid execution policy: {name}: not a plain value (got {value!r})"
                    ) from None
            raise

    def _check(self, *, probe_host_paths: bool = False) -> str:
        """The library's verdict on this policy (its JSON), or
        PolicyValidationError naming the field. With probe_host_paths the
        read-only mounts' host directories are not required to exist yet."""
        text = self._library_json(probe_host_paths=probe_host_paths)
        try:
            _native.check_policy(text)
        except _native.StatusError as e:
            raise PolicyValidationError(f"Invalid execution policy: {e.args[1]}") from None
        return text


def _path(value: Any) -> Any:
    return str(value) if hasattr(value, "__fspath__") else value


class SandboxResult(Model):
    """What an execution did. `success` is true exactly when the guest exited
    0 and nothing trapped or timed out; `metadata` says the rest."""

    success: bool
    stdout: str
    stderr: str
    exit_code: int
    fuel_consumed: Optional[int]
    memory_used_bytes: int
    duration_ms: float
    files_created: List[str]
    files_modified: List[str]
    files_deleted: List[str]
    workspace_path: str
    metadata: Dict[str, Any]

    _fields = {
        "success": lambda: False,
        "stdout": lambda: "",
        "stderr": lambda: "",
        "exit_code": lambda: 0,
        "fuel_consumed": lambda: None,
        "memory_used_bytes": lambda: 0,
        "duration_ms": lambda: 0.0,
        "files_created": lambda: [],
        "files_modified": lambda: [],
        "files_deleted": lambda: [],
        "workspace_path": lambda: "",
        "metadata": lambda: {},
    }


@dataclass
class SessionMetadata:
    """A session's record, kept beside its workspace (out of the guest's
    reach)."""

    session_id: str
    created_at: str
    updated_at: str
    version: int = 1
    execution_count: int = 0

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "SessionMetadata":
        return cls(session_id=data["session_id"], created_at=data["created_at"],
                   updated_at=data["updated_at"], version=data.get("version", 1),
                   execution_count=data.get("execution_count", 0))


@dataclass
class PruneResult:
    deleted_sessions: List[str] = field(default_factory=list)
    skipped_sessions: List[str] = field(default_factory=list)
    reclaimed_bytes: int = 0
    errors: Dict[str, str] = field(default_factory=dict)
    dry_run: bool = False

    def __str__(self) -> str:
        verb = "Would prune" if self.dry_run else "Pruned"
        freed = "would free" if self.dry_run else "freed"
        return (f"{verb} {len(self.deleted_sessions)} sessions, skipped "
                f"{len(self.skipped_sessions)}, {len(self.errors)} errors, "
                f"{freed} {self.reclaimed_bytes} bytes")
