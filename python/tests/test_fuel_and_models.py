"""fuel_patterns' statuses and recommendations; SandboxResult as a model;
the state helpers."""

import json

import pytest

from snakecage import (SandboxResult, filter_serializable_globals, is_serializable,
                       wrap_stateful_code)
from snakecage.fuel_patterns import analyze_fuel_usage


@pytest.mark.parametrize("consumed, status", [
    (0, "efficient"), (49, "efficient"), (50, "moderate"), (74, "moderate"),
    (75, "warning"), (89, "warning"), (90, "critical"), (99, "critical"), (100, "exhausted"),
])
def test_statuses_at_the_thresholds(consumed, status):
    a = analyze_fuel_usage(consumed * 10_000_000, 1_000_000_000)
    assert a["status"] == status
    assert a["utilization_percent"] == float(consumed)
    assert set(a) == {"consumed", "budget", "utilization_percent", "status", "recommendation",
                      "likely_causes"}


@pytest.mark.parametrize("consumed", [80, 95])
def test_warning_and_critical_recommend_a_bigger_budget(consumed):
    a = analyze_fuel_usage(consumed * 10_000_000, 1_000_000_000)
    assert "increase" in a["recommendation"]
    assert "2000000000" in a["recommendation"]


def test_unknown_without_a_count():
    a = analyze_fuel_usage(None, 1_000)
    assert a["status"] == "unknown" and a["utilization_percent"] == 0.0


def test_heavy_imports_are_likely_causes():
    stderr = 'Traceback:\n  File "/usr/local/lib/python3.11/json/__init__.py", line 1\n'
    a = analyze_fuel_usage(10, 1_000, stderr)
    assert a["likely_causes"] == ["importing json"]
    assert analyze_fuel_usage(10, 1_000, stderr, is_cached_import=True)["likely_causes"] == []


def test_sandbox_result_is_a_model():
    r = SandboxResult(success=True, stdout="4\n", exit_code=0, fuel_consumed=10,
                      files_created=["a"], workspace_path="/w", metadata={"trapped": False})
    assert r.files_deleted == [] and r.stderr == "" and r.duration_ms == 0.0
    assert SandboxResult.model_validate(r.model_dump()) == r
    assert json.loads(r.model_dump_json())["files_created"] == ["a"]
    assert SandboxResult.model_validate_json(r.model_dump_json()) == r
    assert r.model_copy(update={"stdout": "5\n"}).stdout == "5\n" and r.stdout == "4\n"


def test_state_helpers():
    assert is_serializable({"a": [1, 2.5, None, "x"]}) is True
    assert is_serializable({1, 2}) is False
    assert is_serializable((1, 2)) is False  # comes back as a list
    assert filter_serializable_globals({"a": 1, "_b": 2, "json": json, "f": print, "s": "x"}) \
        == {"a": 1, "s": "x"}
    code = wrap_stateful_code("x = 1", "/work")
    assert "/work/.session_state.json" in code and "'/work/user_code.py'" in code
    compile(code, "<wrapped>", "exec")
