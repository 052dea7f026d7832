"""SandboxLogger emits the library's events; any object with the contract's
methods receives the contract's calls."""

import logging

import pytest

from snakecage import ExecutionPolicy, SandboxLogger, create_sandbox


def sandbox_records(caplog):
    return [r for r in caplog.records if hasattr(r, "sandbox_event")]


def test_sandbox_logger_into_logging(root, caplog):
    caplog.set_level(logging.INFO, logger="sandbox")
    logger = SandboxLogger()
    assert logger.logger is logging.getLogger("sandbox")
    sandbox = create_sandbox(workspace_root=root, logger=logger)
    result = sandbox.execute("print('hi')")
    names = [r.sandbox_event for r in sandbox_records(caplog)]
    assert names == ["sandbox.session.created", "sandbox.session.metadata.created",
                     "sandbox.execution.start", "sandbox.execution.complete",
                     "sandbox.session.metadata.updated"]
    records = {r.sandbox_event: r for r in sandbox_records(caplog)}
    complete = records["sandbox.execution.complete"].sandbox_fields
    assert complete["session_id"] == sandbox.session_id
    assert complete["success"] is True and complete["exit_code"] == 0
    assert complete["fuel_consumed"] == result.fuel_consumed
    start = records["sandbox.execution.start"].sandbox_fields
    assert start["runtime"] == "python" and start["policy"]["fuel_budget"] == 5_000_000_000
    assert records["sandbox.session.created"].getMessage().startswith("sandbox.session.created {")


def test_second_sandbox_on_a_session_logs_retrieved(root, caplog):
    caplog.set_level(logging.INFO, logger="sandbox")
    create_sandbox(workspace_root=root, session_id="s", logger=SandboxLogger())
    create_sandbox(workspace_root=root, session_id="s", logger=SandboxLogger())
    names = [r.sandbox_event for r in sandbox_records(caplog)]
    assert names == ["sandbox.session.created", "sandbox.session.metadata.created",
                     "sandbox.session.retrieved"]


def test_failures_are_warnings(root, caplog):
    caplog.set_level(logging.INFO, logger="sandbox")
    sandbox = create_sandbox(policy=ExecutionPolicy(fuel_budget=10_000_000), workspace_root=root,
                             logger=SandboxLogger())
    sandbox.execute("while True:\n    pass")
    complete = [r for r in sandbox_records(caplog)
                if r.sandbox_event == "sandbox.execution.complete"][0]
    assert complete.levelno == logging.WARNING
    assert complete.sandbox_fields["trap_reason"] == "out_of_fuel"


def test_sandbox_logger_into_structlog(root):
    import structlog  # Debian's python3-structlog (scripts/install-deps.sh)
    from structlog.testing import capture_logs
    with capture_logs() as logs:
        sandbox = create_sandbox(workspace_root=root,
                                 logger=SandboxLogger(structlog.get_logger()))
        sandbox.execute("print(1)")
    events = [e["event"] for e in logs]
    assert events == ["sandbox.session.created", "sandbox.session.metadata.created",
                      "sandbox.execution.start", "sandbox.execution.complete",
                      "sandbox.session.metadata.updated"]
    complete = logs[3]
    assert complete["log_level"] == "info" and complete["success"] is True


def test_custom_logger_gets_the_contract_calls(root, recording_logger):
    policy = ExecutionPolicy()
    sandbox = create_sandbox(policy=policy, workspace_root=root, logger=recording_logger)
    recording_logger.calls.clear()
    result = sandbox.execute("print('x')")
    assert recording_logger.names() == ["log_execution_start", "log_execution_complete",
                                        "log_session_metadata_updated"]
    start, complete, updated = recording_logger.calls
    assert start[2]["runtime"] == "python" and start[2]["policy"] is policy
    assert start[2]["session_id"] == sandbox.session_id and start[2]["inject_setup"] is True
    assert complete[1] == (result,) and complete[2] == {"runtime": "python",
                                                         "session_id": sandbox.session_id}
    assert updated[2]["session_id"] == sandbox.session_id and updated[2]["timestamp"]


def test_refused_paths_become_security_events(root, recording_logger):
    sandbox = create_sandbox(workspace_root=root, logger=recording_logger)
    recording_logger.calls.clear()
    r = sandbox.execute("try:\n    open('/app/../etc/passwd')\nexcept OSError:\n    print('refused')")
    assert r.stdout == "refused\n"
    security = [c for c in recording_logger.calls if c[0] == "log_security_event"]
    assert len(security) == 1
    assert security[0][2]["event_type"] == "path_denied"
    assert security[0][2]["details"]["path"] == "../etc/passwd"
    assert r.metadata["path_denials"] == 1
