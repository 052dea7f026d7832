"""Telemetry: the library's events, delivered to a logger object.

The C++ library emits its events (telemetry.h) during each call; the native
module hands them back with the call's value, in the order they happened.
`deliver()` turns them into calls on the logger the caller gave:
- a SandboxLogger emits each event as the library wrote it: name
  `sandbox.<event>` and the library's fields, into `logging` or structlog;
- any other object gets the contract's method calls (`log_session_created(
  session_id=..., workspace_path=...)`, ...), with this package's policy and
  result objects where the contract passes them.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, Iterable, List, Optional, Tuple

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}

# (level, logger name, event, fields as JSON), as the native module returns them.
Event = Tuple[str, str, str, str]


def _is_structlog(logger: Any) -> bool:
    return not isinstance(logger, logging.Logger) and hasattr(logger, "bind")


class SandboxLogger:
    """Structured events named `sandbox.<event>` (`sandbox.execution.start`,
    `sandbox.session.created`, ...) with the fields of snakecage's telemetry.

    Wraps a `logging.Logger` (default: the logger named "sandbox"); each event
    is one record whose message is the event name followed by its fields as
    JSON, with `record.sandbox_event` and `record.sandbox_fields` set. Given a
    structlog logger, each event is `logger.<level>(event, **fields)`.
    """

    def __init__(self, logger: Any = None) -> None:
        self._logger = logger if logger is not None else logging.getLogger("sandbox")

    @property
    def logger(self) -> Any:
        return self._logger

    def emit(self, level: str, event: str, fields: Dict[str, Any]) -> None:
        """One event: `event` without the "sandbox." prefix ("execution.start")."""
        name = f"sandbox.{event}"
        if _is_structlog(self._logger):
            getattr(self._logger, level)(name, **fields)
            return
        self._logger.log(_LEVELS.get(level, logging.INFO),
                         "%s %s", name, json.dumps(fields, default=str),
                         extra={"sandbox_event": name, "sandbox_fields": fields})

    # The contract's methods, for callers that log through them directly.
    # (The sandbox itself hands a SandboxLogger the library's events whole.)
    def log_execution_start(self, runtime: Any, policy: Any, session_id: Optional[str] = None,
                            **extra: Any) -> None:
        dump = policy.model_dump(mode="json") if hasattr(policy, "model_dump") else policy
        self.emit("info", "execution.start",
                  {"session_id": session_id, "runtime": _runtime(runtime), "policy": dump, **extra})

    def log_execution_complete(self, result: Any, runtime: Any,
                               session_id: Optional[str] = None) -> None:
        meta = getattr(result, "metadata", {}) or {}
        self.emit("info" if result.success else "warning", "execution.complete", {
            "session_id": session_id,
            "runtime": _runtime(runtime),
            "success": result.success,
            "exit_code": result.exit_code,
            "fuel_consumed": result.fuel_consumed,
            "memory_used_bytes": result.memory_used_bytes,
            "duration_ms": result.duration_ms,
            "stdout_truncated": meta.get("stdout_truncated", False),
            "stderr_truncated": meta.get("stderr_truncated", False),
            "files_created": len(result.files_created),
            "files_modified": len(result.files_modified),
            "files_deleted": len(getattr(result, "files_deleted", [])),
            "trap_reason": meta.get("trap_reason"),
        })

    def log_security_event(self, event_type: str, details: Dict[str, Any]) -> None:
        self.emit("warning", f"security.{event_type}", dict(details))

    def log_session_created(self, session_id: str, workspace_path: Any) -> None:
        self.emit("info", "session.created",
                  {"session_id": session_id, "workspace_path": str(workspace_path)})

    def log_session_retrieved(self, session_id: str, workspace_path: Any) -> None:
        self.emit("info", "session.retrieved",
                  {"session_id": session_id, "workspace_path": str(workspace_path)})

    def log_session_deleted(self, session_id: str) -> None:
        self.emit("info", "session.deleted", {"session_id": session_id})

    def log_file_operation(self, operation: str, session_id: str, path: Any, **kwargs: Any) -> None:
        self.emit("info", f"session.file.{operation}",
                  {"session_id": session_id, "path": path, **kwargs})

    def log_session_metadata_created(self, session_id: str, created_at: str) -> None:
        self.emit("info", "session.metadata.created",
                  {"session_id": session_id, "created_at": created_at})

    def log_session_metadata_updated(self, session_id: str, timestamp: str) -> None:
        self.emit("info", "session.metadata.updated",
                  {"session_id": session_id, "updated_at": timestamp})

    def log_prune_started(self, threshold_hours: float, workspace_root: Any, dry_run: bool) -> None:
        self.emit("info", "session.prune.started",
                  {"older_than_seconds": threshold_hours * 3600.0,
                   "workspace_root": str(workspace_root), "dry_run": dry_run})

    def log_prune_candidate(self, session_id: str, age_hours: float, threshold_hours: float) -> None:
        self.emit("info", "session.prune.candidate",
                  {"session_id": session_id, "age_seconds": age_hours * 3600.0})

    def log_prune_deleted(self, session_id: str, age_hours: float, reclaimed_bytes: int) -> None:
        self.emit("info", "session.prune.deleted",
                  {"session_id": session_id, "reclaimed_bytes": reclaimed_bytes})

    def log_prune_skipped(self, session_id: str, reason: str) -> None:
        self.emit("info", "session.prune.skipped", {"session_id": session_id, "reason": reason})

    def log_prune_error(self, session_id: str, error: str) -> None:
        self.emit("error", "session.prune.error", {"session_id": session_id, "message": error})

    def log_prune_completed(self, deleted_count: int, skipped_count: int, error_count: int,
                            reclaimed_bytes: int, dry_run: bool) -> None:
        self.emit("info", "session.prune.completed",
                  {"dry_run": dry_run, "deleted_count": deleted_count,
                   "skipped_count": skipped_count, "error_count": error_count,
                   "reclaimed_bytes": reclaimed_bytes})


def _runtime(runtime: Any) -> str:
    return getattr(runtime, "value", runtime)


def deliver(logger: Any, events: Iterable[Event], *, policy: Any = None, result: Any = None,
            inject_setup: Optional[bool] = None, workspace_root: Any = None) -> None:
    """Hands the library's events of one call to `logger` (see the module's
    doc). For an execution, `policy` and `result` are the objects the
    contract's execution methods receive; the session's metadata update is
    delivered after execution.complete, as the contract orders them."""
    if logger is None:
        return
    decoded = [(level, event, json.loads(fields)) for level, _, event, fields in events]
    # Reopening a session refreshes its updated_at; the contract reports
    # that as session_retrieved alone (updates follow executions and writes).
    decoded = [e for e in decoded
               if not (e[1] == "session.metadata.updated" and e[2].get("reason") == "retrieval")]
    if result is not None:
        updates = [e for e in decoded if e[1] == "session.metadata.updated"
                   and e[2].get("reason") == "execution"]
        decoded = [e for e in decoded if e not in updates] + updates
    if isinstance(logger, SandboxLogger):
        for level, event, fields in decoded:
            logger.emit(level, event, fields)
        return
    # The contract's order for a new session: its metadata, then the session.
    names = [e[1] for e in decoded]
    if "session.created" in names and "session.metadata.created" in names:
        created = names.index("session.created")
        meta = names.index("session.metadata.created")
        if meta > created:
            decoded.insert(created, decoded.pop(meta))
    _call_contract_methods(logger, decoded, policy=policy, result=result,
                           inject_setup=inject_setup, workspace_root=workspace_root)


def _call_contract_methods(logger: Any, decoded: List[Tuple[str, str, Dict[str, Any]]], *,
                           policy: Any, result: Any, inject_setup: Optional[bool],
                           workspace_root: Any) -> None:
    threshold_hours = 0.0
    ages: Dict[str, float] = {}
    for level, event, f in decoded:
        sid = f.get("session_id")
        if event == "execution.start":
            extra = {} if inject_setup is None else {"inject_setup": inject_setup}
            logger.log_execution_start(runtime="python", policy=policy, session_id=sid, **extra)
        elif event == "execution.complete":
            if result is not None:
                logger.log_execution_complete(result, runtime="python", session_id=sid)
        elif event == "session.created":
            logger.log_session_created(session_id=sid, workspace_path=f["workspace_path"])
        elif event == "session.retrieved":
            logger.log_session_retrieved(session_id=sid, workspace_path=f["workspace_path"])
        elif event == "session.deleted":
            logger.log_session_deleted(session_id=sid)
        elif event.startswith("session.file."):
            rest = {k: v for k, v in f.items() if k not in ("session_id", "path")}
            logger.log_file_operation(operation=event[len("session.file."):], session_id=sid,
                                      path=f.get("path"), **rest)
        elif event == "session.metadata.created":
            logger.log_session_metadata_created(session_id=sid, created_at=f["created_at"])
        elif event == "session.metadata.updated":
            logger.log_session_metadata_updated(session_id=sid, timestamp=f["updated_at"])
        elif event == "session.prune.started":
            threshold_hours = f["older_than_seconds"] / 3600.0
            logger.log_prune_started(threshold_hours=threshold_hours,
                                     workspace_root=str(workspace_root), dry_run=f["dry_run"])
        elif event == "session.prune.candidate":
            ages[sid] = f["age_seconds"] / 3600.0
            logger.log_prune_candidate(session_id=sid, age_hours=ages[sid],
                                       threshold_hours=threshold_hours)
        elif event == "session.prune.deleted":
            logger.log_prune_deleted(session_id=sid, age_hours=ages.get(sid, 0.0),
                                     reclaimed_bytes=f["reclaimed_bytes"])
        elif event == "session.prune.skipped":
            logger.log_prune_skipped(session_id=sid, reason=f["reason"])
        elif event == "session.prune.error":
            logger.log_prune_error(session_id=sid, error=f["message"])
        elif event == "session.prune.completed":
            logger.log_prune_completed(deleted_count=f["deleted_count"],
                                       skipped_count=f["skipped_count"],
                                       error_count=f["error_count"],
                                       reclaimed_bytes=f["reclaimed_bytes"],
                                       dry_run=f["dry_run"])
        elif event.startswith("security."):
            logger.log_security_event(event_type=event[len("security."):], details=f)
