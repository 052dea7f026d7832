"""Session helpers: files in a session's workspace, deleting and pruning
sessions. Every path is relative to the workspace and confined to it (the
library resolves it beneath the workspace with openat2(RESOLVE_BENEATH)),
so a symlink the guest planted cannot lead out."""

from __future__ import annotations

import fnmatch
import json
import os
from pathlib import Path
from typing import Any, List, Optional, Union

from . import _native
from .logger import deliver
from .models import PruneResult, SessionMetadata
from .storage import (StorageAdapter, check_relative_path, check_session_id, raise_for,
                      storage_for)

PathLike = Union[str, Path]


def _root(workspace_root: Optional[PathLike], storage_adapter: Optional[StorageAdapter]) -> str:
    return str(storage_for(workspace_root, storage_adapter).workspace_root)


def list_session_files(session_id: str, workspace_root: Optional[PathLike] = None,
                       storage_adapter: Optional[StorageAdapter] = None,
                       pattern: Optional[str] = None, logger: Any = None) -> List[str]:
    """Files (not directories) in the workspace: sorted relative POSIX paths,
    filtered as `pathlib.Path.rglob(pattern or "*")` would (the pattern
    matches the last component)."""
    check_session_id(session_id)
    try:
        raw, events = _native.list_files(_root(workspace_root, storage_adapter), session_id,
                                         None)
    except _native.StatusError as e:
        raise_for(e)
    files = [os.fsdecode(f) for f in raw]  # as os.listdir decodes names
    deliver(logger, events)
    if pattern is None:
        return files
    if "/" in pattern:
        return [f for f in files if Path(f).match(pattern)]
    return [f for f in files if fnmatch.fnmatchcase(f.rsplit("/", 1)[-1], pattern)]


def read_session_file(session_id: str, relative_path: PathLike,
                      workspace_root: Optional[PathLike] = None,
                      storage_adapter: Optional[StorageAdapter] = None,
                      logger: Any = None) -> bytes:
    check_session_id(session_id)
    path = check_relative_path(relative_path)
    storage = storage_for(workspace_root, storage_adapter)
    try:
        data, events = _native.read_file(str(storage.workspace_root), session_id, path)
    except _native.StatusError as e:
        raise_for(e, directory=storage.workspace_path(session_id) / path)
    deliver(logger, events)
    return data


def write_session_file(session_id: str, relative_path: PathLike, data: Union[str, bytes],
                       workspace_root: Optional[PathLike] = None,
                       storage_adapter: Optional[StorageAdapter] = None,
                       overwrite: bool = True, logger: Any = None) -> None:
    """Writes the whole file (str as UTF-8), creating parent directories and
    the session when missing; the new content appears atomically.
    overwrite=False refuses an existing file with FileExistsError."""
    check_session_id(session_id)
    path = check_relative_path(relative_path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    storage = storage_for(workspace_root, storage_adapter)
    root = str(storage.workspace_root)
    try:
        (_, _, created), open_events = _native.open_session(root, session_id, True)
        if created:  # reopening an existing session is not an event here
            deliver(logger, open_events)
        _, events = _native.write_file(root, session_id, path, bytes(data), overwrite)
    except _native.StatusError as e:
        raise_for(e, directory=storage.workspace_path(session_id) / path)
    deliver(logger, events)


def delete_session_path(session_id: str, relative_path: PathLike,
                        workspace_root: Optional[PathLike] = None,
                        storage_adapter: Optional[StorageAdapter] = None,
                        recursive: bool = False, logger: Any = None) -> None:
    """Removes a file or symlink (never what it points to); a directory only
    with recursive=True."""
    check_session_id(session_id)
    path = check_relative_path(relative_path)
    storage = storage_for(workspace_root, storage_adapter)
    try:
        _, events = _native.delete_path(str(storage.workspace_root), session_id, path, recursive)
    except _native.StatusError as e:
        target = storage.workspace_path(session_id) / path
        if (e.args[0] == "invalid_argument" and not recursive and target.is_dir()
                and not target.is_symlink()):
            raise ValueError(f"Cannot delete directory {path!r} without recursive=True "
                             f"({e.args[1]})") from None
        raise_for(e)
    deliver(logger, events)


def delete_session_workspace(session_id: str, workspace_root: Optional[PathLike] = None,
                             storage_adapter: Optional[StorageAdapter] = None,
                             logger: Any = None) -> None:
    """Removes the whole session (workspace, metadata, logs); idempotent."""
    check_session_id(session_id)
    try:
        _, events = _native.delete_session(_root(workspace_root, storage_adapter), session_id)
    except _native.StatusError as e:
        raise_for(e)
    deliver(logger, events)


def get_session_metadata(session_id: str, workspace_root: Optional[PathLike] = None,
                         storage_adapter: Optional[StorageAdapter] = None) -> SessionMetadata:
    check_session_id(session_id)
    try:
        text, _ = _native.read_metadata(_root(workspace_root, storage_adapter), session_id)
    except _native.StatusError as e:
        raise_for(e)
    return SessionMetadata.from_dict(json.loads(text))


def prune_sessions(older_than_hours: float = 24.0, workspace_root: Optional[PathLike] = None,
                   storage_adapter: Optional[StorageAdapter] = None, dry_run: bool = False,
                   logger: Any = None) -> PruneResult:
    """Deletes sessions not used for `older_than_hours`. Sessions whose
    metadata is missing or unreadable are skipped; sessions in use are left
    alone (and listed as skipped with their reason in the logger's events).
    With dry_run nothing is deleted and reclaimed_bytes is 0."""
    if isinstance(older_than_hours, bool) or not isinstance(older_than_hours, (int, float)) \
            or older_than_hours < 0:
        raise ValueError(f"older_than_hours must be a number >= 0 (got {older_than_hours!r})")
    storage = storage_for(workspace_root, storage_adapter)
    try:
        text, events = _native.prune_sessions(str(storage.workspace_root),
                                              float(older_than_hours) * 3600.0, dry_run)
    except _native.StatusError as e:
        raise_for(e)
    deliver(logger, events, workspace_root=storage.workspace_root)
    report = json.loads(text)
    return PruneResult(
        deleted_sessions=report["deleted"],
        skipped_sessions=[s["session_id"] for s in report["skipped"]
                          if s["reason"] != "recent"],
        reclaimed_bytes=0 if dry_run else report["reclaimed_bytes"],
        errors={e["session_id"]: e["message"] for e in report["errors"]},
        dry_run=dry_run)
