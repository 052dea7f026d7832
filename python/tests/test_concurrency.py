"""Threads, asyncio and processes that fork."""

import asyncio
import multiprocessing
import os
import threading
import time
from pathlib import Path

from snakecage import ExecutionPolicy, create_sandbox

BUSY = "n = 0\nfor i in range({n}):\n    n += i\nprint('{tag}', n)"


def test_threads_get_their_own_results(root):
    results = {}

    def work(tag):
        sandbox = create_sandbox(workspace_root=root, session_id=f"t{tag}")
        results[tag] = [sandbox.execute(f"print('{tag}-{i}')").stdout for i in range(5)]

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {t: [f"{t}-{i}\n" for i in range(5)] for t in range(8)}


def test_one_session_from_several_threads(root):
    sandbox = create_sandbox(workspace_root=root)
    outs = []
    lock = threading.Lock()

    def work(i):
        r = sandbox.execute(f"print({i})")
        with lock:
            outs.append(r.stdout)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outs) == sorted(f"{i}\n" for i in range(6))


def test_execute_releases_the_gil(root):
    sandbox = create_sandbox(policy=ExecutionPolicy(fuel_budget=100_000_000_000),
                             workspace_root=root)
    sandbox.execute("pass")  # the zygote is up
    window = {}

    def run():
        window["start"] = time.monotonic()
        window["result"] = sandbox.execute(BUSY.format(n=5_000_000, tag="done"))
        window["end"] = time.monotonic()

    thread = threading.Thread(target=run)
    stamps = []
    thread.start()
    while thread.is_alive():
        stamps.append(time.monotonic())
    thread.join()
    assert window["result"].stdout.startswith("done ")
    start, end = window["start"], window["end"]
    assert end - start > 0.2, "the execution was too short to tell"
    # With the GIL held for the whole execution this thread could not have
    # run in the middle of it.
    middle = [s for s in stamps if start + 0.05 < s < end - 0.05]
    assert len(middle) > 100


def test_asyncio(root):
    sandbox_a = create_sandbox(workspace_root=root, session_id="a")
    sandbox_b = create_sandbox(workspace_root=root, session_id="b")

    async def main():
        return await asyncio.gather(sandbox_a.execute_async("print('a')"),
                                    sandbox_b.execute_async("print('b')"),
                                    sandbox_a.execute_async("print('a2')"))

    results = asyncio.run(main())
    assert [r.stdout for r in results] == ["a\n", "b\n", "a2\n"]


def zygote_pids():
    pids = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if b"snakecage-zygote" in cmdline.split(b"\0")[0]:
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            pids[int(entry.name)] = ppid
    return pids


def run_in_child(args):
    root, tag = args
    sandbox = create_sandbox(workspace_root=root, session_id=f"child-{tag}")
    return sandbox.execute(f"print('child {tag}', {tag} * 2)").stdout


_inherited = {}


def run_inherited(tag):
    return _inherited["sandbox"].execute(f"print('inherited {tag}')").stdout


def test_forked_children_use_the_package_without_deadlock_or_leaks(root):
    parent = create_sandbox(workspace_root=root, session_id="parent")
    assert parent.execute("print('before')").stdout == "before\n"
    _inherited["sandbox"] = parent
    ours = {p for p, ppid in zygote_pids().items() if ppid == os.getpid()}
    assert ours, "the parent's zygote is running"

    orphans_before = {p for p, ppid in zygote_pids().items() if ppid == 1}
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(2) as pool:
        workers = {p.pid for p in pool._pool}
        fresh = pool.map(run_in_child, [(root, t) for t in range(4)], chunksize=1)
        inherited = pool.map(run_inherited, range(3), chunksize=1)
    assert fresh == [f"child {t} {t * 2}\n" for t in range(4)]
    assert inherited == [f"inherited {t}\n" for t in range(3)]

    # The children's zygotes went with them (none left behind, none
    # orphaned); the parent's still serve.
    deadline = time.monotonic() + 10
    while True:
        left = {p for p, ppid in zygote_pids().items()
                if ppid in workers or (ppid == 1 and p not in orphans_before)}
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert left == set()
    assert {p for p, ppid in zygote_pids().items() if ppid == os.getpid()} >= ours
    assert parent.execute("print('after')").stdout == "after\n"
