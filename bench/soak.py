#!/usr/bin/python3
"""Soak: `snakecage serve` under load for a while, every answer checked.

Starts `snakecage serve` on loopback (its own policy and workspace root) and
keeps it at its concurrency limit, plus two callers more so that some
requests meet the limit, with a mix of ordinary and hostile programs:
infinite loops, memory bombs, output floods, runaway recursion, sleeps past
the timeout, and file floods up to the workspace quota. Each program prints
its own nonce first, and each answer is checked exactly: a truthful result
for that program (never another's output), or 503 with Retry-After. Halfway
through, one zygote is killed with SIGKILL: only the executions in flight
then may fail, and only with the executor's "zygote died" error. The
server's descriptors and memory are sampled throughout.

  bench/soak.py [--snakecage BIN] [--seconds 600] [--concurrency 4] [--json OUT]

Prints a report; exits 1 when any answer was wrong or lost, the kill cost
more than the executions in flight, or descriptors grew.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

POLICY = """\
fuel_budget = 300_000_000
memory_bytes = 64_000_000
stdout_max_bytes = 100_000
stderr_max_bytes = 100_000
timeout_seconds = 5
workspace_max_bytes = 2_000_000
"""
QUOTA_FILES = 2_000_000 // 4096 - 1  # blocks, less user_code.py's

# kind -> (code with NONCE, request extras, check(result, nonce) -> error or None)
def expect(cond: bool, what: str):
    return None if cond else what


def check_ordinary(r, n):
    return expect(r["success"] and r["stdout"] == f"{n}\n499500\n", "ordinary")


def check_loop(r, n):
    m = r["metadata"]
    return expect(not r["success"] and m["trap_reason"] == "out_of_fuel" and r["stdout"] == f"{n}\n",
                  "infinite loop")


def check_memory(r, n):
    m = r["metadata"]
    memory = m["trap_reason"] == "memory_limit" or "MemoryError" in r["stderr"]
    return expect(not r["success"] and memory and r["stdout"] == f"{n}\n", "memory bomb")


def check_flood(r, n):
    m = r["metadata"]
    return expect(not r["success"] and m["trap_reason"] == "out_of_fuel" and m["stdout_truncated"]
                  and r["stdout"].startswith(f"{n}\n") and len(r["stdout"]) == 100_000
                  and set(r["stdout"][len(n) + 1:]) == {"x"}, "output flood")


def check_recursion(r, n):
    return expect(not r["success"] and r["exit_code"] == 1 and "RecursionError" in r["stderr"]
                  and r["stdout"] == f"{n}\n", "recursion")


def check_sleep(r, n):
    m = r["metadata"]
    return expect(not r["success"] and m["trap_reason"] == "timeout" and r["stdout"] == f"{n}\n",
                  "sleep past timeout")


def check_files(r, n):
    return expect(r["success"] and r["stdout"] == f"{n} ENOSPC\n{QUOTA_FILES}\n"
                  and r["metadata"]["workspace_writes_refused"] == 1, "file flood")


KINDS = {
    "ordinary": ("print('NONCE')\nprint(sum(range(1000)))\n", {}, check_ordinary),
    "infinite_loop": ("print('NONCE')\nwhile True:\n    pass\n", {}, check_loop),
    "memory_bomb": ("print('NONCE')\nx = []\nwhile True:\n    x.append(bytearray(1 << 20))\n", {},
                    check_memory),
    "output_flood": ("print('NONCE')\nimport sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n",
                     {}, check_flood),
    "deep_recursion": ("print('NONCE')\ndef f(n):\n    return f(n + 1)\nf(0)\n", {},
                       check_recursion),
    "sleep_past_timeout": ("print('NONCE')\nimport time\ntime.sleep(60)\n",
                           {"timeout_seconds": 0.3}, check_sleep),
    "file_flood": ("import errno, os\nn = 0\ntry:\n    while True:\n"
                   "        open(f'/app/f{n}', 'w').write('x' * 1000)\n        n += 1\n"
                   "except OSError as e:\n    print('NONCE', errno.errorcode[e.errno])\n"
                   "for i in range(n):\n    os.remove(f'/app/f{i}')\nprint(n)\n",
                   {"session": True}, check_files),
}
# Ordinary programs are most of what agents send.
WEIGHTS = {"ordinary": 10, "infinite_loop": 1, "memory_bomb": 1, "output_flood": 1,
           "deep_recursion": 1, "sleep_past_timeout": 1, "file_flood": 1}


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.by_kind = {k: 0 for k in KINDS}
        self.busy = 0            # 503 with Retry-After
        self.wrong = []          # (kind, why)
        self.lost = []           # (kind, why)
        self.zygote_died = []    # times of "zygote died" answers
        self.latencies = []

    def add(self, field, value):
        with self.lock:
            getattr(self, field).append(value)


def request(conn, method, path, body=None):
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    return resp.status, dict(resp.getheaders()), resp.read()


def caller(port, deadline, stats: Stats, seed):
    rng = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    status, _, body = request(conn, "POST", "/v1/sessions")
    session = json.loads(body)["session_id"] if status == 201 else None
    kinds = [k for k, w in WEIGHTS.items() for _ in range(w)]
    while time.monotonic() < deadline:
        kind = rng.choice(kinds)
        code, extra, check = KINDS[kind]
        nonce = f"n{seed}x{rng.getrandbits(48):012x}"
        body = {"code": code.replace("NONCE", nonce)}
        if "timeout_seconds" in extra:
            body["timeout_seconds"] = extra["timeout_seconds"]
        if extra.get("session"):
            if session is None:
                stats.add("wrong", (kind, "no session"))
                continue
            body["session_id"] = session
        started = time.monotonic()
        try:
            status, headers, raw = request(conn, "POST", "/v1/execute", body)
        except (OSError, http.client.HTTPException) as e:
            stats.add("lost", (kind, repr(e)))
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            continue
        if status == 503:
            if headers.get("Retry-After") is None:
                stats.add("wrong", (kind, "503 without Retry-After"))
            else:
                with stats.lock:
                    stats.busy += 1
            time.sleep(0.01)
            continue
        if status == 500 and b"zygote died" in raw:
            stats.add("zygote_died", time.monotonic())
            continue
        if status != 200:
            stats.add("wrong", (kind, f"HTTP {status}: {raw[:200]!r}"))
            continue
        result = json.loads(raw)
        why = check(result, nonce)
        if why is None and re.search(r"n\d+x[0-9a-f]{12}", result["stdout"].replace(nonce, "")):
            why = "another execution's output"
        if why is not None:
            stats.add("wrong", (kind, f"{why}: {json.dumps(result)[:400]}"))
            continue
        with stats.lock:
            stats.by_kind[kind] += 1
            stats.latencies.append(time.monotonic() - started)


def children(pid):
    """Child processes of `pid`, whichever of its threads started them."""
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def sample(pid):
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) * 1024
    return fds, rss


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--snakecage", default=str(REPO / "build/bin/snakecage"))
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--json")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="snakecage-soak-") as tmp:
        policy = Path(tmp) / "policy.toml"
        policy.write_text(POLICY)
        server = subprocess.Popen(
            [args.snakecage, "serve", "--listen", "127.0.0.1:0", "--policy", str(policy),
             "--workspace-root", str(Path(tmp) / "sessions"), "--log-file", os.devnull,
             "--max-concurrency", str(args.concurrency), "--rate-limit", "0",
             "--max-sessions", "100"],
            stderr=subprocess.PIPE, text=True)
        line = server.stderr.readline()
        m = re.search(r"listening on http://[\d.]+:(\d+)", line)
        if not m:
            sys.exit(f"serve did not start: {line}")
        port = int(m.group(1))
        threading.Thread(target=lambda: server.stderr.read(), daemon=True).start()

        stats = Stats()
        start = time.monotonic()
        deadline = start + args.seconds
        threads = [threading.Thread(target=caller, args=(port, deadline, stats, i))
                   for i in range(args.concurrency + 2)]
        for t in threads:
            t.start()
        samples = []
        killed_at = None
        in_flight_at_kill = 0
        while any(t.is_alive() for t in threads):
            now = time.monotonic()
            samples.append((round(now - start, 1), *sample(server.pid)))
            if killed_at is None and now - start >= args.seconds / 2:
                zygotes = children(server.pid)
                if zygotes:
                    victim = zygotes[0]
                    in_flight_at_kill = len(children(victim))
                    os.kill(victim, signal.SIGKILL)
                    killed_at = now
            time.sleep(min(5.0, args.seconds / 20))
        for t in threads:
            t.join()
        final = sample(server.pid)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    elapsed = time.monotonic() - start
    answered = sum(stats.by_kind.values())
    lat = sorted(stats.latencies)
    # Descriptors and memory after the warm-up (the first tenth), to the end.
    warm = [s for s in samples if s[0] >= args.seconds / 10] or samples
    report = {
        "seconds": round(elapsed, 1),
        "concurrency": args.concurrency,
        "callers": args.concurrency + 2,
        "checked_results": answered,
        "results_per_second": round(answered / elapsed, 1),
        "by_kind": stats.by_kind,
        "busy_503_with_retry_after": stats.busy,
        "wrong": len(stats.wrong),
        "lost": len(stats.lost),
        "zygote_killed": killed_at is not None,
        "children_of_killed_zygote": in_flight_at_kill,
        "failed_by_the_kill": len(stats.zygote_died),
        "latency_ms": {"median": round(1000 * lat[len(lat) // 2], 2) if lat else None,
                       "p99": round(1000 * lat[int(len(lat) * 0.99)], 2) if lat else None},
        "server_fds": {"after_warmup": warm[0][1], "max": max(s[1] for s in warm),
                       "end": final[0]},
        "server_rss_bytes": {"after_warmup": warm[0][2], "max": max(s[2] for s in warm),
                             "end": final[1]},
        "examples_of_wrong": stats.wrong[:5],
        "examples_of_lost": stats.lost[:5],
    }
    print(json.dumps(report, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    ok = (not stats.wrong and not stats.lost and killed_at is not None
          and len(stats.zygote_died) <= max(in_flight_at_kill, 1)
          and final[0] <= warm[0][1])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
