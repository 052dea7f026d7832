"""Every name of the contract exists and is what the contract says."""

import inspect

import pytest

import snakecage
from snakecage import RuntimeType, create_sandbox


CONTRACT_NAMES = [
    "BaseSandbox", "PythonSandbox", "ExecutionPolicy", "PolicyValidationError",
    "SandboxExecutionError", "RuntimeType", "SandboxResult", "SandboxLogger", "SessionMetadata",
    "PruneResult", "DiskStorageAdapter", "StorageAdapter", "create_sandbox", "load_policy",
    "list_session_files", "read_session_file", "write_session_file", "delete_session_path",
    "delete_session_workspace", "prune_sessions", "is_serializable",
    "filter_serializable_globals", "save_state_code", "load_state_code", "wrap_stateful_code",
    "create_state_helpers",
]


def test_star_import_gives_every_contract_name():
    namespace = {}
    exec("from snakecage import *", namespace)
    missing = [n for n in CONTRACT_NAMES if n not in namespace]
    assert missing == []
    assert all(hasattr(snakecage, n) for n in snakecage.__all__)


def test_helper_modules():
    from snakecage.error_templates import (classify_error_from_stderr, classify_error_from_trap,
                                           get_error_guidance)
    from snakecage.fuel_patterns import (analyze_fuel_usage, detect_heavy_packages,
                                         detect_large_dataset_processing)
    from snakecage.policies import DEFAULT_POLICY, load_policy

    assert DEFAULT_POLICY["fuel_budget"] == 2_000_000_000
    assert DEFAULT_POLICY["preserve_logs"] is False
    assert set(DEFAULT_POLICY) >= {"mount_host_dir", "guest_mount_path", "argv", "env"}
    assert load_policy is snakecage.load_policy
    assert detect_heavy_packages("  File \"/usr/local/lib/python3.11/json/decoder.py\"") == ["json"]
    assert detect_large_dataset_processing(3_000_000_000, []) is True
    assert detect_large_dataset_processing(3_000_000_000, ["numpy"]) is False
    assert classify_error_from_trap("fuel budget of 10 operators exhausted") == "OutOfFuel"
    assert classify_error_from_trap("x", fuel_consumed=10, fuel_budget=10) == "OutOfFuel"
    assert classify_error_from_trap("something else") is None
    assert classify_error_from_stderr("Traceback...\nModuleNotFoundError: No module named 'x'\n") \
        == "MissingVendoredPackage"
    assert classify_error_from_stderr("Traceback...\nMemoryError\n") == "MemoryExhausted"
    g = get_error_guidance("OutOfFuel")
    assert g["error_type"] == "OutOfFuel" and g["actionable_guidance"] and g["related_docs"]
    assert inspect.signature(analyze_fuel_usage).parameters["is_cached_import"].default is False


def test_runtime_type_is_a_str_enum():
    assert RuntimeType("python") is RuntimeType.PYTHON
    assert RuntimeType.PYTHON == "python"
    assert RuntimeType.JAVASCRIPT.value == "javascript"


def test_runtime_that_is_not_the_enum_is_refused(root):
    with pytest.raises(ValueError) as e:
        create_sandbox(runtime="python", workspace_root=root)
    assert "Invalid runtime type" in str(e.value) and "RuntimeType enum" in str(e.value)
    assert not root.exists()


def test_javascript_is_not_available(root):
    with pytest.raises(ValueError, match="not available"):
        create_sandbox(runtime=RuntimeType.JAVASCRIPT, workspace_root=root)
    assert not root.exists()


def test_create_sandbox_signature():
    params = inspect.signature(create_sandbox).parameters
    assert list(params)[:8] == ["runtime", "policy", "session_id", "workspace_root",
                                "storage_adapter", "logger", "allow_non_uuid",
                                "auto_persist_globals"]
    assert params["runtime"].default is RuntimeType.PYTHON
    assert params["allow_non_uuid"].default is True
    assert params["auto_persist_globals"].default is False


def test_version_is_the_librarys():
    from snakecage import _native
    assert snakecage.__version__ == _native.version
    assert snakecage.__version__.count(".") == 2
