"""Sessions: create vs retrieve, ids, file helpers with traversal attempts,
deletion and pruning."""

import json
import os
import uuid

import pytest

from snakecage import (PruneResult, SessionMetadata, create_sandbox, delete_session_path,
                       delete_session_workspace, list_session_files, prune_sessions,
                       read_session_file, write_session_file)
from snakecage.sessions import get_session_metadata


def test_new_session_gets_a_uuid4_and_events_in_the_contracts_order(root, recording_logger):
    sandbox = create_sandbox(workspace_root=root, logger=recording_logger)
    assert uuid.UUID(sandbox.session_id).version == 4
    assert recording_logger.names() == ["log_session_metadata_created", "log_session_created"]
    _, _, meta_kwargs = recording_logger.calls[0]
    assert meta_kwargs["session_id"] == sandbox.session_id and meta_kwargs["created_at"]
    _, _, created = recording_logger.calls[1]
    assert created == {"session_id": sandbox.session_id,
                       "workspace_path": str(sandbox.workspace)}
    assert sandbox.workspace == root.resolve() / sandbox.session_id / "workspace"
    assert sandbox.workspace.is_dir()


def test_existing_session_is_retrieved(root, recording_logger):
    first = create_sandbox(workspace_root=root, session_id="analysis-1")
    first.execute("open('/app/keep.txt', 'w').write('x')")
    again = create_sandbox(workspace_root=root, session_id="analysis-1", logger=recording_logger)
    assert recording_logger.names() == ["log_session_retrieved"]
    assert recording_logger.calls[0][2] == {"session_id": "analysis-1",
                                            "workspace_path": str(again.workspace)}
    assert again.execute("print(open('/app/keep.txt').read())").stdout == "x\n"


def test_reopening_a_session_refreshes_updated_at_only(root):
    create_sandbox(workspace_root=root, session_id="kept").execute("pass")
    age_session(root, "kept")
    create_sandbox(workspace_root=root, session_id="kept")
    meta = get_session_metadata("kept", workspace_root=root)
    assert meta.updated_at > "2020-01-01T00:00:00.000000Z"
    assert meta.execution_count == 1


@pytest.mark.parametrize("bad", ["a/b", "..", "a\\b", "../escape", "x/../y"])
def test_session_ids_with_separators_are_refused_before_anything_exists(root, bad):
    with pytest.raises(ValueError, match="must not contain path separators"):
        create_sandbox(workspace_root=root, session_id=bad)
    assert not root.exists()


def test_other_bad_session_ids(root):
    for bad in ["", "a b", "x" * 200]:
        with pytest.raises(ValueError, match="session"):
            create_sandbox(workspace_root=root, session_id=bad)
    with pytest.raises(ValueError):
        create_sandbox(workspace_root=root, session_id="not-a-uuid", allow_non_uuid=False)
    assert not root.exists()
    sid = str(uuid.uuid4())
    assert create_sandbox(workspace_root=root, session_id=sid, allow_non_uuid=False).session_id == sid


def test_file_helpers(root, recording_logger):
    sid = "files"
    write_session_file(sid, "notes/a.txt", "héllo", workspace_root=root, logger=recording_logger)
    assert recording_logger.names()[:2] == ["log_session_metadata_created", "log_session_created"]
    assert "log_file_operation" in recording_logger.names()
    op = [c for c in recording_logger.calls if c[0] == "log_file_operation"][0][2]
    assert op["operation"] == "write" and op["session_id"] == sid and op["path"] == "notes/a.txt"
    write_session_file(sid, "b.bin", b"\x00\x01", workspace_root=root)
    write_session_file(sid, "c.csv", "1,2\n", workspace_root=root)
    assert read_session_file(sid, "notes/a.txt", workspace_root=root) == "héllo".encode()
    assert read_session_file(sid, "b.bin", workspace_root=root) == b"\x00\x01"
    assert list_session_files(sid, workspace_root=root) == ["b.bin", "c.csv", "notes/a.txt"]
    assert list_session_files(sid, workspace_root=root, pattern="*.txt") == ["notes/a.txt"]
    assert list_session_files(sid, root, None, "*.csv") == ["c.csv"]
    with pytest.raises(FileExistsError, match="already exists"):
        write_session_file(sid, "c.csv", "new", workspace_root=root, overwrite=False)
    assert read_session_file(sid, "c.csv", workspace_root=root) == b"1,2\n"
    with pytest.raises(FileNotFoundError):
        read_session_file(sid, "absent.txt", workspace_root=root)
    with pytest.raises(IsADirectoryError):
        read_session_file(sid, "notes", workspace_root=root)
    with pytest.raises(ValueError, match="without recursive=True"):
        delete_session_path(sid, "notes", workspace_root=root)
    assert list_session_files(sid, workspace_root=root) == ["b.bin", "c.csv", "notes/a.txt"]
    delete_session_path(sid, "notes", workspace_root=root, recursive=True)
    delete_session_path(sid, "b.bin", workspace_root=root)
    assert list_session_files(sid, workspace_root=root) == ["c.csv"]
    # The guest sees what the helpers wrote.
    sandbox = create_sandbox(workspace_root=root, session_id=sid)
    assert sandbox.execute("print(open('/app/c.csv').read(), end='')").stdout == "1,2\n"


@pytest.mark.parametrize("path", ["../outside.txt", "/etc/passwd", "a/../../x", "..\\x"])
def test_paths_leaving_the_workspace_are_refused(root, path):
    write_session_file("s", "inside.txt", "x", workspace_root=root)
    with pytest.raises(ValueError, match="escapes session workspace"):
        write_session_file("s", path, "x", workspace_root=root)
    with pytest.raises(ValueError, match="escapes session workspace"):
        read_session_file("s", path, workspace_root=root)
    with pytest.raises(ValueError, match="escapes session workspace"):
        delete_session_path("s", path, workspace_root=root)
    assert not (root / "outside.txt").exists() and not (root / "s" / "outside.txt").exists()


def test_a_symlink_planted_by_the_guest_does_not_lead_out(root, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("host secret")
    sandbox = create_sandbox(workspace_root=root, session_id="s")
    os.symlink(secret, sandbox.workspace / "link.txt")
    os.symlink(tmp_path, sandbox.workspace / "dirlink")
    for path in ["link.txt", "dirlink/secret.txt"]:
        with pytest.raises(ValueError):
            read_session_file("s", path, workspace_root=root)
    with pytest.raises(ValueError):
        write_session_file("s", "dirlink/new.txt", "x", workspace_root=root)
    assert not (tmp_path / "new.txt").exists()
    delete_session_path("s", "link.txt", workspace_root=root)  # the link, not its target
    assert secret.read_text() == "host secret"


def test_delete_session_workspace_is_idempotent(root, recording_logger):
    sandbox = create_sandbox(workspace_root=root, session_id="gone")
    delete_session_workspace("gone", workspace_root=root, logger=recording_logger)
    assert recording_logger.names() == ["log_session_deleted"]
    assert not (root / "gone").exists()
    delete_session_workspace("gone", workspace_root=root, logger=recording_logger)
    assert recording_logger.names() == ["log_session_deleted"]


def age_session(root, sid, updated_at="2020-01-01T00:00:00.000000Z"):
    """Makes the session last used at `updated_at`: session.json as a fold
    of its activity records would leave it, and no records after it."""
    path = root / sid / "session.json"
    meta = json.loads(path.read_text())
    activity = root / sid / "session.activity"
    if activity.exists():
        records = activity.read_bytes()
        if len(records) >= 64:
            meta["execution_count"] = int(records[-64:][:20])
        activity.unlink()
    meta["updated_at"] = updated_at
    path.write_text(json.dumps(meta))


def test_prune_dry_run_then_real(root, recording_logger):
    old = create_sandbox(workspace_root=root, session_id="old")
    old.execute("open('/app/data.bin', 'wb').write(b'x' * 10000)")
    create_sandbox(workspace_root=root, session_id="new")
    create_sandbox(workspace_root=root, session_id="broken")
    age_session(root, "old")
    (root / "broken" / "session.json").write_text("{not json")

    dry = prune_sessions(older_than_hours=24, workspace_root=root, dry_run=True)
    assert isinstance(dry, PruneResult)
    assert dry.deleted_sessions == ["old"] and dry.reclaimed_bytes == 0 and dry.dry_run
    assert dry.skipped_sessions == ["broken"]
    assert str(dry).startswith("Would prune 1 sessions")
    assert (root / "old").is_dir()

    real = prune_sessions(24, root, None, False, recording_logger)
    assert real.deleted_sessions == ["old"] and real.reclaimed_bytes >= 10000
    assert real.skipped_sessions == ["broken"] and real.errors == {}
    assert str(real).startswith("Pruned 1 sessions")
    assert not (root / "old").exists() and (root / "new").is_dir()
    names = recording_logger.names()
    assert names[0] == "log_prune_started" and names[-1] == "log_prune_completed"
    assert "log_prune_candidate" in names and "log_prune_deleted" in names
    assert "log_prune_skipped" in names
    candidate = [c for c in recording_logger.calls if c[0] == "log_prune_candidate"][0][2]
    assert candidate["session_id"] == "old" and candidate["threshold_hours"] == 24
    assert candidate["age_hours"] > 24 * 365
    completed = recording_logger.calls[-1][2]
    assert completed["deleted_count"] == 1 and completed["dry_run"] is False


def test_session_metadata(root):
    sandbox = create_sandbox(workspace_root=root, session_id="m")
    sandbox.execute("pass")
    sandbox.execute("pass")
    meta = get_session_metadata("m", workspace_root=root)
    assert isinstance(meta, SessionMetadata)
    assert meta.session_id == "m" and meta.version == 1 and meta.execution_count == 2
    assert meta.updated_at >= meta.created_at
    assert SessionMetadata.from_dict(meta.to_dict()) == meta
    # Outside the guest's reach: not in the workspace.
    assert list_session_files("m", workspace_root=root) == ["user_code.py"]
    r = sandbox.execute("import os\nprint(os.path.exists('/app/session.json'))")
    assert r.stdout == "False\n"


def test_names_the_guest_made_that_are_not_utf8(root):
    # A file name need not be UTF-8: the result shows U+FFFD (JSON carries
    # text), the file helpers give the name as os.listdir would.
    sandbox = create_sandbox(workspace_root=root, session_id="names")
    result = sandbox.execute("open(b'/app/caf\\xff.txt', 'w').write('x')")
    assert result.success, result.stderr
    assert result.files_created == ["caf\ufffd.txt"]
    assert list_session_files("names", workspace_root=root) == [
        os.fsdecode(b"caf\xff.txt"), "user_code.py"]
