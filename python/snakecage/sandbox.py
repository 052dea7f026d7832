"""create_sandbox() and the sandboxes it makes."""

from __future__ import annotations

import asyncio
import copy
import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Dict, Optional, Union

from . import _native
from .error_templates import error_type_of, get_error_guidance
from .fuel_patterns import analyze_fuel_usage
from .logger import deliver
from .models import (ExecutionPolicy, PolicyValidationError, RuntimeType, SandboxExecutionError,
                     SandboxResult)
from .state import wrap_stateful_code
from .storage import DiskStorageAdapter, StorageAdapter, check_session_id, raise_for


class BaseSandbox(ABC):
    """A sandbox for one session: its policy, its storage and its logger."""

    def __init__(self, policy: ExecutionPolicy, session_id: str,
                 storage_adapter: StorageAdapter, logger: Any = None) -> None:
        self.policy = policy
        self.session_id = session_id
        self.storage_adapter = storage_adapter
        self.logger = logger

    @property
    def workspace_root(self) -> Path:
        return self.storage_adapter.workspace_root

    @property
    def workspace(self) -> Path:
        """The directory the guest sees at guest_mount_path. (snakecage) It is
        <workspace_root>/<session_id>/workspace: the session's metadata and
        logs live beside it, out of the guest's reach."""
        return self.storage_adapter.workspace_path(self.session_id)

    @abstractmethod
    def execute(self, code: str, **kwargs: Any) -> SandboxResult:
        ...

    @abstractmethod
    def validate_code(self, code: str) -> bool:
        ...


class PythonSandbox(BaseSandbox):
    """Runs Python code in a fresh child of a pre-initialised interpreter,
    confined by WebAssembly and the kernel (the same executor as the CLI).
    Safe to use from several threads: executions in one session are
    serialised by the library, executions in different sessions run at once."""

    def __init__(self, policy: ExecutionPolicy, session_id: str,
                 storage_adapter: StorageAdapter, logger: Any = None, *,
                 native: Any, auto_persist_globals: bool = False) -> None:
        super().__init__(policy, session_id, storage_adapter, logger)
        self._native = native
        self._checked_policy_json: Optional[str] = None
        self._policy_fields: Optional[Dict[str, Any]] = None
        self.auto_persist_globals = auto_persist_globals

    def execute(self, code: str, inject_setup: bool = True, **kwargs: Any) -> SandboxResult:
        """Runs `code` as <guest_mount_path>/user_code.py. Never raises for
        what the guest did: traps, timeouts, exceptions and exit codes are in
        the result. Raises PolicyValidationError for a policy the library
        refuses and SandboxExecutionError when the host could not run it.
        Other keywords (e.g. `timeout`) are accepted and ignored: the policy
        decides."""
        policy_json = self._policy_json()
        if self.auto_persist_globals:
            code = wrap_stateful_code(code, self.policy.guest_mount_path)
        try:
            result_json, events = self._native.execute(code, policy_json,
                                                       self.logger is not None)
        except _native.StatusError as e:
            raise SandboxExecutionError(e.args[1]) from None
        result = _result_from(json.loads(result_json), self.policy, self.storage_adapter,
                              self.session_id)
        deliver(self.logger, events, policy=self.policy, result=result,
                inject_setup=inject_setup)
        return result

    async def execute_async(self, code: str, inject_setup: bool = True,
                            **kwargs: Any) -> SandboxResult:
        """execute() on a worker thread: the event loop keeps running."""
        return await asyncio.to_thread(self.execute, code, inject_setup, **kwargs)

    def validate_code(self, code: str) -> bool:
        """Whether `code` compiles (on the host, never running it)."""
        try:
            compile(code, "<sandbox>", "exec")
        except (SyntaxError, ValueError):
            return False
        return True

    def _policy_json(self) -> str:
        """The policy as the library reads it, checked when it changed. The
        JSON is made again only when a field changed (compared with a deep
        copy of the fields it was made from: the policy's lists and dicts can
        be changed in place)."""
        fields = dict(self.policy.__dict__, _keep_state=bool(self.auto_persist_globals))
        if fields == self._policy_fields and self._checked_policy_json is not None:
            return self._checked_policy_json
        text = self.policy._library_json(keep_state=bool(self.auto_persist_globals))
        if text != self._checked_policy_json:
            try:
                _native.check_policy(text)
            except _native.StatusError as e:
                raise PolicyValidationError(f"Invalid execution policy: {e.args[1]}") from None
            self._checked_policy_json = text
        self._policy_fields = copy.deepcopy(fields)
        return text


def _result_from(r: Dict[str, Any], policy: ExecutionPolicy, storage: StorageAdapter,
                 session_id: str) -> SandboxResult:
    """The contract's result from the library's (SandboxResultToJson)."""
    m = r["metadata"]
    metadata: Dict[str, Any] = {
        "memory_pages": m["memory_pages"],
        "stdout_truncated": m["stdout_truncated"],
        "stderr_truncated": m["stderr_truncated"],
        "exit_code": r["exit_code"],
        "trapped": m["trapped"],
        "session_id": r["session_id"],
        # snakecage's own
        "stdout_bytes": m["stdout_bytes"],
        "stderr_bytes": m["stderr_bytes"],
        "fuel_budget": m["fuel_budget"],
        "memory_limit_bytes": m["memory_limit_bytes"],
        "path_denials": m["path_denials"],
        "workspace_max_bytes": m["workspace_max_bytes"],
        "workspace_writes_refused": m["workspace_writes_refused"],
    }
    if m["timeout_seconds"] is not None:
        metadata["timeout_seconds"] = m["timeout_seconds"]
    metadata["fuel_analysis"] = analyze_fuel_usage(r["fuel_consumed"], m["fuel_budget"],
                                                   r["stderr"])
    if policy.preserve_logs:
        metadata["logs_dir"] = str(storage.logs_path(session_id))
    if m["trapped"]:
        metadata["trap_reason"] = m["trap_reason"]
        metadata["trap_message"] = m["trap_message"]
    if m["missing_module"] is not None:
        metadata["missing_module"] = m["missing_module"]
    if m["error_guidance"] is not None:
        metadata["error_guidance"] = get_error_guidance(error_type_of(m, r["stderr"]),
                                                        guidance=m["error_guidance"])
    if m["state"] is not None:  # auto_persist_globals: what happened to the kept state
        metadata["state"] = m["state"]
        metadata["state_reason"] = m["state_reason"]
        metadata["state_dropped"] = m["state_dropped"]
    return SandboxResult(
        success=r["success"], stdout=r["stdout"], stderr=r["stderr"], exit_code=r["exit_code"],
        fuel_consumed=r["fuel_consumed"], memory_used_bytes=r["memory_used_bytes"],
        duration_ms=r["duration_ms"], files_created=r["files_created"],
        files_modified=r["files_modified"], files_deleted=r["files_deleted"],
        workspace_path=r["workspace_path"], metadata=metadata)


def create_sandbox(runtime: RuntimeType = RuntimeType.PYTHON,
                   policy: Optional[ExecutionPolicy] = None,
                   session_id: Optional[str] = None,
                   workspace_root: Union[str, Path, None] = None,
                   storage_adapter: Optional[StorageAdapter] = None,
                   logger: Any = None,
                   allow_non_uuid: bool = True,
                   auto_persist_globals: bool = False,
                   **kwargs: Any) -> PythonSandbox:
    """A sandbox for a new session (a UUIDv4 id) or for `session_id`, new or
    existing, under `workspace_root` (default ./workspace). The sandbox keeps
    `policy` itself (`sandbox.policy is policy`) and enforces exactly it."""
    if not isinstance(runtime, RuntimeType):
        raise ValueError(f"Invalid runtime type: {runtime!r}. Use the RuntimeType enum "
                         f"(RuntimeType.PYTHON).")
    if runtime is not RuntimeType.PYTHON:
        raise ValueError(f"Runtime {runtime.value!r} is not available in snakecage: only "
                         f"RuntimeType.PYTHON runs.")
    if storage_adapter is None:
        storage_adapter = DiskStorageAdapter(workspace_root)
    if session_id is not None:
        check_session_id(session_id, allow_non_uuid)
    if policy is None:
        policy = ExecutionPolicy()
    elif not isinstance(policy, ExecutionPolicy):
        raise PolicyValidationError(f"Invalid execution policy: expected an ExecutionPolicy, "
                                    f"got {type(policy).__name__}")
    policy_json = policy._check()
    try:
        native, events = _native.open_sandbox(policy_json, session_id,
                                              str(storage_adapter.workspace_root), allow_non_uuid)
    except _native.StatusError as e:
        raise_for(e)
    deliver(logger, events)
    sandbox = PythonSandbox(policy, native.session_id, storage_adapter, logger, native=native,
                            auto_persist_globals=auto_persist_globals)
    sandbox._checked_policy_json = policy_json
    return sandbox
