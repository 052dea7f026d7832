"""Fixtures for the package's tests: a workspace root per test, a logger
that records the contract's method calls, and the CLI to compare with."""

import os
import shutil
from pathlib import Path

import pytest

import snakecage


@pytest.fixture
def root(tmp_path):
    """A workspace root that does not exist yet."""
    return tmp_path / "sessions"


class RecordingLogger:
    """Any object with the contract's logger methods; records (method, kwargs)."""

    METHODS = (
        "log_execution_start", "log_execution_complete", "log_security_event",
        "log_session_created", "log_session_retrieved", "log_session_deleted",
        "log_file_operation", "log_session_metadata_created", "log_session_metadata_updated",
        "log_prune_started", "log_prune_candidate", "log_prune_deleted", "log_prune_skipped",
        "log_prune_error", "log_prune_completed",
    )

    def __init__(self):
        self.calls = []
        for name in self.METHODS:
            setattr(self, name, self._recorder(name))

    def _recorder(self, name):
        def record(*args, **kwargs):
            self.calls.append((name, args, kwargs))
        return record

    def names(self):
        return [c[0] for c in self.calls]


@pytest.fixture
def recording_logger():
    return RecordingLogger()


@pytest.fixture(scope="session")
def cli():
    """The snakecage CLI of the same build (scripts/test-python.sh sets it)."""
    path = os.environ.get("SNAKECAGE_CLI") or shutil.which("snakecage")
    assert path, "SNAKECAGE_CLI is not set and no snakecage on PATH"
    assert Path(path).is_file(), path
    return path


def pytest_configure(config):
    # The tests are of the installed package, never of the source tree.
    assert "site-packages" in snakecage.__file__, snakecage.__file__
