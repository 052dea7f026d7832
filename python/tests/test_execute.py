"""create_sandbox().execute(): the result tells what the guest did, the same
truth as `snakecage run --json`; execute never raises for guest behaviour."""

import json
import subprocess

import pytest

from snakecage import (ExecutionPolicy, PolicyValidationError, SandboxResult, create_sandbox,
                       delete_session_workspace)

ALWAYS = {"memory_pages", "stdout_truncated", "stderr_truncated", "exit_code", "trapped",
          "session_id", "fuel_analysis"}
ONLY_WHEN_THEY_APPLY = {"logs_dir", "trap_reason", "trap_message", "error_guidance"}


def run(root, code, **policy):
    sandbox = create_sandbox(policy=ExecutionPolicy(**policy), workspace_root=root)
    return sandbox, sandbox.execute(code)


def assert_metadata_shape(result):
    m = result.metadata
    assert ALWAYS <= set(m), set(m)
    assert len(json.dumps(m)) < 10_000
    for key in ONLY_WHEN_THEY_APPLY:
        if key in m:
            assert m[key] is not None, key


def test_success(root):
    sandbox, r = run(root, "print(2 + 2)")
    assert isinstance(r, SandboxResult)
    assert (r.success, r.exit_code, r.stdout, r.stderr) == (True, 0, "4\n", "")
    assert r.fuel_consumed > 0
    assert r.memory_used_bytes > 0 and r.memory_used_bytes % 65536 == 0
    assert r.metadata["memory_pages"] * 65536 == r.memory_used_bytes
    assert r.duration_ms > 0
    assert r.workspace_path == str(sandbox.workspace)
    assert (r.files_created, r.files_modified, r.files_deleted) == ([], [], [])
    assert_metadata_shape(r)
    m = r.metadata
    assert m["trapped"] is False and m["exit_code"] == 0
    assert m["session_id"] == sandbox.session_id
    assert not ({"trap_reason", "trap_message", "error_guidance", "logs_dir"} & set(m))
    fa = m["fuel_analysis"]
    assert fa["consumed"] == r.fuel_consumed and fa["budget"] == 5_000_000_000
    assert fa["status"] == "efficient"
    assert fa["utilization_percent"] == round(100 * r.fuel_consumed / 5_000_000_000, 2)


def test_uncaught_exception(root):
    _, r = run(root, "raise ValueError('boom')")
    assert (r.success, r.exit_code) == (False, 1)
    assert r.stderr.endswith("ValueError: boom\n")
    assert "Traceback (most recent call last)" in r.stderr
    assert r.metadata["trapped"] is False
    assert "trap_reason" not in r.metadata and "error_guidance" not in r.metadata
    assert_metadata_shape(r)


def test_sys_exit_code(root):
    _, r = run(root, "import sys\nprint('bye')\nsys.exit(3)")
    assert (r.success, r.exit_code, r.stdout) == (False, 3, "bye\n")
    assert r.metadata["exit_code"] == 3 and "trap_reason" not in r.metadata


def test_out_of_fuel(root):
    _, r = run(root, "print('progress', flush=True)\nwhile True:\n    pass", fuel_budget=50_000_000)
    assert r.success is False
    assert r.stdout == "progress\n"
    m = r.metadata
    assert m["trapped"] is True and m["trap_reason"] == "out_of_fuel"
    assert m["trap_message"]
    assert r.fuel_consumed == 50_000_000
    assert m["fuel_analysis"]["consumed"] == m["fuel_analysis"]["budget"] == 50_000_000
    assert m["fuel_analysis"]["utilization_percent"] == 100.0
    assert m["fuel_analysis"]["status"] == "exhausted"
    assert "increase" in m["fuel_analysis"]["recommendation"]
    g = m["error_guidance"]
    assert g["error_type"] == "OutOfFuel"
    assert "50000000" in g["actionable_guidance"][0]
    assert set(g) == {"error_type", "actionable_guidance", "related_docs", "code_examples"}
    assert_metadata_shape(r)


def test_memory_cap(root):
    _, r = run(root, "x = bytearray(1 << 30)", memory_bytes=64 * 1024 * 1024)
    assert (r.success, r.exit_code) == (False, 1)
    assert r.stderr.endswith("MemoryError\n")
    assert r.memory_used_bytes <= 64 * 1024 * 1024
    assert r.metadata["error_guidance"]["error_type"] == "MemoryExhausted"


def test_timeout(root):
    _, r = run(root, "print('started', flush=True)\nwhile True:\n    pass",
               timeout_seconds=0.5, fuel_budget=10**15)
    assert r.success is False
    assert r.metadata["trap_reason"] == "timeout"
    assert r.stdout == "started\n"
    assert r.metadata["error_guidance"]["error_type"] == "Timeout"
    assert r.metadata["timeout_seconds"] == 0.5


def test_output_truncation_is_exact(root):
    _, r = run(root, "print('x' * 1000)\nimport sys\nsys.stderr.write('e' * 500)",
               stdout_max_bytes=100, stderr_max_bytes=10)
    assert r.success is True
    assert r.stdout == "x" * 100 and r.stderr == "e" * 10
    assert r.metadata["stdout_truncated"] is True and r.metadata["stderr_truncated"] is True
    assert r.metadata["stdout_bytes"] == 1001 and r.metadata["stderr_bytes"] == 500


def test_a_full_workspace_is_enospc_with_its_own_error_type(root):
    _, r = run(root, "import errno\n"
                     "try:\n"
                     "    open('/app/big', 'wb').write(b'x' * 100_000)\n"
                     "except OSError as e:\n"
                     "    print(errno.errorcode[e.errno])\n"
                     "open('/app/more', 'w').write('m')\n",
               workspace_max_bytes=32_768)
    assert r.success is False and r.exit_code == 1
    assert r.stdout == "ENOSPC\n"
    assert "No space left on device" in r.stderr
    assert r.metadata["workspace_max_bytes"] == 32_768
    assert r.metadata["workspace_writes_refused"] == 2
    assert r.metadata["error_guidance"]["error_type"] == "WorkspaceFull"
    assert "workspace_max_bytes" in r.metadata["error_guidance"]["actionable_guidance"][0]


def test_file_changes_are_reported_and_user_code_is_not(root):
    sandbox = create_sandbox(workspace_root=root)
    r = sandbox.execute("open('/app/a.txt', 'w').write('a')\n"
                        "open('/app/b.txt', 'w').write('b')")
    assert r.files_created == ["a.txt", "b.txt"]
    r = sandbox.execute("import os\nopen('/app/a.txt', 'w').write('changed')\n"
                        "os.remove('/app/b.txt')\nos.mkdir('/app/d')\n"
                        "open('/app/d/c.txt', 'w').write('c')")
    assert r.files_created == ["d/c.txt"]
    assert r.files_modified == ["a.txt"]
    assert r.files_deleted == ["b.txt"]
    assert (sandbox.workspace / "user_code.py").read_text() .startswith("import os")


def test_preserve_logs_reports_the_logs_dir(root):
    sandbox, r = run(root, "print('kept')", preserve_logs=True)
    logs = sandbox.workspace_root / sandbox.session_id / "logs"
    assert r.metadata["logs_dir"] == str(logs)
    assert (logs / "1.stdout").read_text() == "kept\n"


@pytest.mark.parametrize("code, fuel", [
    ("import sys\nprint('out')\nsys.stderr.write('err\\n')\nsys.exit(4)", 10_000_000),
    ("print('so far', flush=True)\nwhile True:\n    pass", 10_000_000),
    ("x = bytearray(1 << 31)", 10_000_000),
])
def test_same_truth_as_the_cli(root, tmp_path, cli, code, fuel):
    script = tmp_path / "prog.py"
    script.write_text(code)
    # The CLI's default argv, so that both run the same interpreter start-up.
    policy = ExecutionPolicy(argv=["python", "/app/user_code.py"], fuel_budget=fuel)
    r = create_sandbox(policy=policy, workspace_root=root).execute(code)
    out = subprocess.run([cli, "run", "--json", "--fuel", str(fuel), str(script)],
                         capture_output=True, text=True, cwd=tmp_path)
    c = json.loads(out.stdout)
    assert (r.success, r.exit_code, r.stdout, r.stderr) == \
        (c["success"], c["exit_code"], c["stdout"], c["stderr"])
    assert r.metadata["trapped"] == c["metadata"]["trapped"]
    assert r.metadata.get("trap_reason") == c["metadata"]["trap_reason"]
    assert r.metadata["stdout_truncated"] == c["metadata"]["stdout_truncated"]
    if c["metadata"]["trap_reason"] == "out_of_fuel":
        assert r.fuel_consumed == c["fuel_consumed"] == fuel
    else:
        # The CLI's `run` starts a fresh interpreter; the sandbox forks a
        # pre-initialised one, whose start-up state differs slightly.
        assert abs(r.fuel_consumed - c["fuel_consumed"]) < 0.01 * c["fuel_consumed"]


def test_policy_is_kept_and_changes_to_it_are_enforced(root):
    policy = ExecutionPolicy()
    sandbox = create_sandbox(policy=policy, workspace_root=root)
    assert sandbox.policy is policy
    assert sandbox.execute("print(1)").success
    policy.fuel_budget = 20_000_000
    r = sandbox.execute("while True:\n    pass")
    assert r.metadata["trap_reason"] == "out_of_fuel" and r.fuel_consumed == 20_000_000
    policy.env["GREETING"] = "hello"
    r = sandbox.execute("import os\nprint(os.environ['GREETING'])")
    assert r.stdout == "hello\n"


def test_an_invalid_policy_change_is_refused_before_running(root):
    sandbox = create_sandbox(workspace_root=root)
    sandbox.policy.fuel_budget = 0
    with pytest.raises(PolicyValidationError, match="^Invalid execution policy: fuel_budget"):
        sandbox.execute("open('/app/ran', 'w')")
    assert not (sandbox.workspace / "ran").exists()


def test_unknown_keywords_are_ignored(root):
    sandbox = create_sandbox(workspace_root=root)
    r = sandbox.execute("print('ok')", timeout=5, inject_setup=False)
    assert r.stdout == "ok\n"


def test_validate_code(root):
    sandbox = create_sandbox(workspace_root=root)
    assert sandbox.validate_code("x = 1\n") is True
    assert sandbox.validate_code("def (:\n") is False
    assert sandbox.validate_code("print(1)\0print(2)") is False


def test_nul_in_code_is_a_syntax_error_not_a_silent_cut(root):
    _, r = run(root, "print(1)\0print(2)")
    assert (r.success, r.exit_code, r.stdout) == (False, 1, "")
    assert "SyntaxError" in r.stderr and "null bytes" in r.stderr


def test_data_mount_must_exist_when_the_sandbox_is_made(root, tmp_path):
    policy = ExecutionPolicy(mount_data_dir=str(tmp_path / "missing"))
    with pytest.raises(PolicyValidationError, match="mount_data_dir"):
        create_sandbox(policy=policy, workspace_root=root)
    assert not root.exists()  # refused before anything was made
    (tmp_path / "missing").mkdir()
    (tmp_path / "missing" / "in.csv").write_text("a,b\n")
    r = create_sandbox(policy=policy, workspace_root=root).execute(
        "print(open('/data/in.csv').read(), end='')")
    assert r.stdout == "a,b\n"


def test_auto_persist_globals_keeps_json_values_between_executions(root):
    sandbox = create_sandbox(workspace_root=root, auto_persist_globals=True)
    assert sandbox.execute("counter = 41\nnames = ['a']\nimport math").success
    r = sandbox.execute("counter += 1\nprint(counter, names)")
    assert r.stdout == "42 ['a']\n", r.stderr
    assert (sandbox.workspace / ".session_state.json").is_file()
    assert r.metadata["state"] == "committed", r.metadata


def test_auto_persist_globals_keeps_what_json_cannot_and_rolls_back_a_failure(root):
    sandbox = create_sandbox(workspace_root=root, auto_persist_globals=True)
    first = sandbox.execute(
        "import collections\n"
        "def double(v):\n    return 2 * v\n"
        "class Box:\n    def __init__(self, v):\n        self.v = v\n"
        "box = Box(20)\n"
        "pair = (1, 2)\n"
        "alias = shared = [1]\n"
        "counts = collections.Counter('aab')\n")
    assert first.success, first.stderr
    assert first.metadata["state"] == "fresh", first.metadata
    r = sandbox.execute("alias.append(2)\n"
                        "print(double(box.v), pair, shared, counts['a'], type(box).__name__)")
    assert r.stdout == "40 (1, 2) [1, 2] 2 Box\n", r.stderr
    assert r.metadata["state"] == "committed", r.metadata
    # A failed execution changes nothing of the state; its files stay.
    failed = sandbox.execute("box.v = 0\ndel double\nopen('/app/kept.txt', 'w').write('x')\n"
                             "raise ValueError('no')")
    assert not failed.success and "ValueError: no" in failed.stderr
    assert failed.metadata["state"] == "rolled_back", failed.metadata
    assert "ValueError" not in failed.metadata["state_reason"]
    assert "exited with status 1" in failed.metadata["state_reason"], failed.metadata
    after = sandbox.execute("print(double(box.v), open('/app/kept.txt').read())")
    assert after.stdout == "40 x\n", after.stderr
    # The helpers leave no names of their own.
    names = sandbox.execute("print(sorted(n for n in globals() if n.startswith('_sc')))")
    assert names.stdout == "[]\n", names.stderr


def test_auto_persist_globals_state_goes_with_a_deleted_session(root):
    sandbox = create_sandbox(workspace_root=root, auto_persist_globals=True)
    assert sandbox.execute("x = 1").success
    delete_session_workspace(sandbox.session_id, workspace_root=root)
    again = create_sandbox(workspace_root=root, session_id=sandbox.session_id,
                           auto_persist_globals=True)
    r = again.execute("print('x' in globals())")
    assert r.stdout == "False\n", r.stderr
    assert r.metadata["state"] == "fresh", r.metadata
    assert "no kept state" in r.metadata["state_reason"], r.metadata


def test_without_auto_persist_globals_there_is_no_state(root):
    sandbox = create_sandbox(workspace_root=root)
    assert sandbox.execute("x = 1").success
    r = sandbox.execute("print('x' in globals())")
    assert r.stdout == "False\n"
    assert "state" not in r.metadata
