"""ExecutionPolicy and load_policy: defaults, model methods, validation."""

import json

import pytest

from snakecage import ExecutionPolicy, PolicyValidationError, load_policy
from snakecage.policies import DEFAULT_POLICY


def test_defaults_are_the_contracts():
    p = ExecutionPolicy()
    assert p.fuel_budget == 5_000_000_000
    assert p.memory_bytes == 128_000_000
    assert p.stdout_max_bytes == 2_000_000
    assert p.stderr_max_bytes == 1_000_000
    assert p.mount_host_dir == "workspace"
    assert p.guest_mount_path == "/app"
    assert p.mount_data_dir is None and p.guest_data_path is None
    assert p.argv == ["python", "-I", "/app/user_code.py", "-X", "utf8"]
    assert p.env == {"PYTHONUTF8": "1", "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8",
                     "PYTHONHASHSEED": "0", "TMPDIR": "/app"}
    assert p.timeout_seconds is None
    assert p.preserve_logs is False
    assert p.additional_readonly_mounts == []


def test_keyword_construction_ignores_unknown_keys_and_compares_by_value():
    p = ExecutionPolicy(fuel_budget=10, no_such_field=1)
    assert p.fuel_budget == 10 and not hasattr(p, "no_such_field")
    assert p == ExecutionPolicy(fuel_budget=10)
    assert p != ExecutionPolicy(fuel_budget=11)
    p.fuel_budget = 11
    assert p == ExecutionPolicy(fuel_budget=11)


def test_model_methods_round_trip():
    p = ExecutionPolicy(fuel_budget=7, env={"A": "1"}, timeout_seconds=1.5,
                        additional_readonly_mounts=[("/tmp", "/refs")])
    d = p.model_dump()
    assert d["fuel_budget"] == 7 and d["env"] == {"A": "1"}
    assert d["additional_readonly_mounts"] == [("/tmp", "/refs")]
    j = json.loads(p.model_dump_json())
    assert j["env"] == {"A": "1"}
    assert j["additional_readonly_mounts"] == [["/tmp", "/refs"]]
    assert list(j) == ["fuel_budget", "memory_bytes", "stdout_max_bytes", "stderr_max_bytes",
                       "workspace_max_bytes", "mount_host_dir", "guest_mount_path", "mount_data_dir", "guest_data_path",
                       "argv", "env", "timeout_seconds", "preserve_logs",
                       "additional_readonly_mounts"]
    assert ExecutionPolicy.model_validate(j) == p
    assert ExecutionPolicy.model_validate(d) == p
    assert ExecutionPolicy.model_validate(p) == p


def test_data_mount_defaults_its_guest_path_and_is_not_checked_at_construction(tmp_path):
    p = ExecutionPolicy(mount_data_dir=str(tmp_path / "does-not-exist-yet"))
    assert p.guest_data_path == "/data"
    q = ExecutionPolicy(mount_data_dir=str(tmp_path), guest_data_path="/input")
    assert q.guest_data_path == "/input"


@pytest.mark.parametrize("fields, fragment", [
    ({"fuel_budget": 0}, "fuel_budget: must be between 1 and"),
    ({"fuel_budget": -5}, "fuel_budget: must be an unsigned integer"),
    ({"fuel_budget": "lots"}, "fuel_budget: must be an unsigned integer"),
    ({"fuel_budget": True}, "fuel_budget: must be an unsigned integer"),
    ({"memory_bytes": 0}, "memory_bytes"),
    ({"stdout_max_bytes": 0}, "stdout_max_bytes: must be > 0"),
    ({"stderr_max_bytes": 1.5}, "stderr_max_bytes"),
    ({"guest_mount_path": "app"}, "guest_mount_path"),
    ({"guest_mount_path": "/usr/local/lib/python3.11/x"}, "guest_mount_path"),
    ({"argv": []}, "argv"),
    ({"env": {"A=B": "1"}}, "env"),
    ({"env": ["A"]}, "env"),
    ({"timeout_seconds": -1}, "timeout_seconds"),
    ({"timeout_seconds": "soon"}, "timeout_seconds"),
    ({"guest_data_path": "/data"}, "guest_data_path"),
    ({"additional_readonly_mounts": [("/tmp",)]}, "additional_readonly_mounts[0]"),
    ({"additional_readonly_mounts": [("/tmp", "relative")]}, "additional_readonly_mounts"),
    ({"preserve_logs": "yes"}, "preserve_logs"),
])
def test_invalid_values_name_the_field(fields, fragment):
    with pytest.raises(PolicyValidationError) as e:
        ExecutionPolicy(**fields)
    message = str(e.value)
    assert message.startswith("Invalid execution policy:"), message
    assert fragment in message, message


def test_missing_policy_file_gives_the_default_policy(tmp_path):
    p = load_policy(tmp_path / "absent.toml")
    assert p == ExecutionPolicy(**DEFAULT_POLICY)
    assert p.fuel_budget == 2_000_000_000


def test_policy_file_is_merged_over_the_default_policy(tmp_path):
    (tmp_path / "data").mkdir()
    f = tmp_path / "policy.toml"
    f.write_text('memory_bytes = 65536000\nmount_data_dir = "data"\n'
                 'timeout_seconds = 2\n[env]\nEXTRA = "x"\nLC_ALL = "C"\n')
    p = load_policy(f)
    assert p.fuel_budget == 2_000_000_000          # DEFAULT_POLICY's, not 5e9
    assert p.memory_bytes == 65_536_000             # the file's
    assert p.mount_data_dir == str(tmp_path / "data")  # relative to the file
    assert p.guest_data_path == "/data"
    assert p.timeout_seconds == 2.0
    assert p.env["EXTRA"] == "x" and p.env["LC_ALL"] == "C"
    assert p.env["PYTHONUTF8"] == "1"               # merged key by key
    assert p.argv == DEFAULT_POLICY["argv"]


def test_policy_file_errors_name_the_file_and_key(tmp_path):
    f = tmp_path / "policy.toml"
    f.write_text("fuel_budgt = 1\n")
    with pytest.raises(PolicyValidationError) as e:
        load_policy(f)
    assert str(f) in str(e.value) and "fuel_budgt" in str(e.value)
    f.write_text("memory_bytes = 0\n")
    with pytest.raises(PolicyValidationError, match="memory_bytes"):
        load_policy(f)


def test_malformed_toml_raises_naming_file_and_line(tmp_path):
    f = tmp_path / "policy.toml"
    f.write_text("fuel_budget = 1\nmemory_bytes = [\n")
    with pytest.raises(PolicyValidationError) as e:
        load_policy(f)
    assert f"{f}:2:" in str(e.value)  # file:line:column
