#!/usr/bin/python3
"""Benchmark snakecage against Debian's native CPython 3.11.

For every program in the workloads directory (default: ../shared/workloads
beside the repository), runs it natively with `/usr/bin/python3.11 -I` and in
the sandbox with fuel metering on (snakecage-bench-runner) and off
(snakecage-bench-runner-unmetered), interleaved, N repetitions each, and
reports medians and ratios. Every run's stdout must equal the native one; a
mismatch is an error, printed loudly, and no ratio is reported for it.

Each program is wrapped in the same few lines of timing code for both sides
(see wrap_program), so the headline numbers are the program's execution as the
interpreter sees it, without process or interpreter start-up. Whole-process
times and a cold `snakecage run` of print(2+2) are reported beside them.

Timings are reported, never asserted. Standard library only; run with Debian's
/usr/bin/python3. See bench/README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterable, Optional, Sequence

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORKLOADS = REPO_ROOT.parent / "shared" / "workloads"
DEFAULT_BUILD_DIR = REPO_ROOT / "build"
NATIVE_PYTHON = "/usr/bin/python3.11"
RUNNER_NAME = "snakecage-bench-runner"
UNMETERED_RUNNER_NAME = "snakecage-bench-runner-unmetered"

NATIVE = "native"
METERED = "metered"
UNMETERED = "unmetered"
SANDBOX_VARIANTS = (METERED, UNMETERED)

# The line the timing wrapper appends to stderr.
TIMING_MARKER = "@@snakecage-bench exec_ms="

# Keys every line of the runner carries, with their JSON types.
RUNNER_FIELDS = {
    "run": int,
    "wall_ms": (int, float),
    "duration_ms": (int, float),
    "fuel_consumed": int,
    "success": bool,
    "exit_code": int,
    "stdout": str,
    "stderr": str,
}

# Same source for native and sandbox. The program's source is embedded as a
# string literal, so neither side reads a file inside the timed region; the
# timed region is compile + exec + flushing stdout. The builtin compile()
# builds the AST types on its first call (about 15 million guest operators),
# work a program run as `python3.11 FILE` never does: the untimed compile("")
# pays it before the clock starts.
WRAPPER_TEMPLATE = '''\
import sys as _bench_sys, time as _bench_time
_bench_source = {source!r}
_bench_globals = {{"__name__": "__main__", "__file__": {name!r},
                  "__builtins__": __builtins__}}
compile("", {name!r}, "exec")
_bench_t0 = _bench_time.perf_counter()
exec(compile(_bench_source, {name!r}, "exec"), _bench_globals)
_bench_sys.stdout.flush()
_bench_t1 = _bench_time.perf_counter()
_bench_sys.stderr.write("\\n{marker}%r\\n" % ((_bench_t1 - _bench_t0) * 1e3))
_bench_sys.stderr.flush()
'''


class BenchError(Exception):
    """A problem that makes a measurement unusable (bad output, bad setup)."""


# --------------------------------------------------------------------------
# Pure logic (unit-tested by run_benchmarks_test.py)
# --------------------------------------------------------------------------


def wrap_program(source: str, name: str) -> str:
    """Returns the timing wrapper around `source` (a program called `name`)."""
    return WRAPPER_TEMPLATE.format(source=source, name=name, marker=TIMING_MARKER)


def split_timing(stderr: str) -> tuple[Optional[float], str]:
    """Finds the wrapper's timing line in `stderr`.

    Returns (exec_ms, the stderr without that line and the newline the wrapper
    put before it). exec_ms is None when the line is absent (the program
    failed before the wrapper could print it).
    """
    idx = stderr.rfind("\n" + TIMING_MARKER)
    if idx < 0:
        return None, stderr
    rest = stderr[idx + 1 + len(TIMING_MARKER):]
    value_text, _, after = rest.partition("\n")
    try:
        value = float(value_text)
    except ValueError as e:
        raise BenchError(f"stderr: timing line has no number: {value_text!r}") from e
    if not math.isfinite(value) or value < 0:
        raise BenchError(f"stderr: timing line has a bad value: {value_text!r}")
    return value, stderr[:idx] + after


def parse_runner_output(text: str) -> list[dict]:
    """Parses the runner's stdout: one JSON object per line, fields checked."""
    runs = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise BenchError(f"runner output line {lineno}: not JSON: {e}") from e
        if not isinstance(obj, dict):
            raise BenchError(f"runner output line {lineno}: not a JSON object")
        for key, types in RUNNER_FIELDS.items():
            if key not in obj:
                raise BenchError(f"runner output line {lineno}: missing field '{key}'")
            value = obj[key]
            # bool is an int in Python; keep the two apart.
            if (types is int and isinstance(value, bool)) or not isinstance(value, types):
                raise BenchError(
                    f"runner output line {lineno}: field '{key}' has type "
                    f"{type(value).__name__}")
        runs.append(obj)
    if not runs:
        raise BenchError("runner output: no result line")
    return runs


def median(values: Sequence[float]) -> float:
    if not values:
        raise BenchError("median of no values")
    return statistics.median(values)


def geometric_mean(values: Iterable[float]) -> float:
    vals = list(values)
    if not vals:
        raise BenchError("geometric mean of no values")
    for v in vals:
        if not (v > 0 and math.isfinite(v)):
            raise BenchError(f"geometric mean: value must be positive and finite (got {v!r})")
    return math.exp(sum(math.log(v) for v in vals) / len(vals))


def _shorten(text: str, limit: int = 300) -> str:
    r = repr(text)
    return r if len(r) <= limit else r[:limit] + "...'"


def output_mismatch(workload: str, variant: str, expected: str, got: str) -> Optional[str]:
    """None when `got` equals `expected` exactly; else a message saying how."""
    if got == expected:
        return None
    return (f"{workload}: {variant} printed {_shorten(got)} but native printed "
            f"{_shorten(expected)}")


@dataclasses.dataclass
class Sample:
    """One run of one workload in one variant."""
    exec_ms: Optional[float]       # in-interpreter time from the wrapper
    process_ms: Optional[float]    # wall time of the whole process
    stdout: str
    success: bool
    stderr: str = ""
    runpython_ms: Optional[float] = None   # sandbox: wall time around RunPython()
    duration_ms: Optional[float] = None    # sandbox: ExecutionResult::duration_ms
    fuel_consumed: Optional[int] = None    # sandbox only


def check_samples(workload: str, samples: dict[str, list[Sample]]) -> dict[str, list[str]]:
    """Checks every sample against the first native one.

    Returns {variant: [error, ...]} for the variants with errors. A native run
    that fails or disagrees with the other native runs is an error of the
    native variant (then nothing can be compared).
    """
    errors: dict[str, list[str]] = {}
    native = samples.get(NATIVE, [])
    if not native:
        return {NATIVE: [f"{workload}: no native run"]}
    reference = native[0].stdout
    for variant, runs in samples.items():
        for i, s in enumerate(runs):
            # One message per run: a failure explains any output difference.
            problem = None
            if not s.success:
                tail = s.stderr.strip().splitlines()[-3:]
                problem = f"{workload}: {variant} run {i} failed: " + " | ".join(tail)
            else:
                problem = output_mismatch(workload, f"{variant} run {i}", reference, s.stdout)
                if problem is None and s.exec_ms is None:
                    problem = f"{workload}: {variant} run {i} printed no timing line"
            if problem:
                errors.setdefault(variant, []).append(problem)
    return errors


@dataclasses.dataclass
class Row:
    """One line of a table: medians in ms, ratios to native (None: not reported)."""
    workload: str
    native_ms: Optional[float]
    metered_ms: Optional[float]
    metered_ratio: Optional[float]
    unmetered_ms: Optional[float]
    unmetered_ratio: Optional[float]
    overhead_pct: Optional[float]   # metered vs unmetered, percent
    errors: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    # Native time too short to compare (start-up dominated): the ratios are
    # shown but left out of the geometric means.
    short: bool = False


def _median_of(samples: list[Sample], field: str) -> Optional[float]:
    vals = [getattr(s, field) for s in samples]
    if not vals or any(v is None for v in vals):
        return None
    return median(vals)


def _ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    if a is None or b is None or not (a > 0 and b > 0):
        return None
    return a / b


def build_row(workload: str, samples: dict[str, list[Sample]], field: str,
              errors: dict[str, list[str]], with_overhead: bool = True) -> Row:
    """Medians of `field` ("exec_ms" or "process_ms") and their ratios.

    A variant with errors gets no ratio (nor does the overhead); native errors
    take every ratio away. Without `with_overhead` the row has no metering
    overhead: the two sandbox variants did not start alike.
    """
    med = {v: _median_of(samples.get(v, []), field) for v in (NATIVE,) + SANDBOX_VARIANTS}
    ok = {v: v not in errors and NATIVE not in errors and med[v] is not None
          for v in SANDBOX_VARIANTS}
    metered_ratio = _ratio(med[METERED], med[NATIVE]) if ok[METERED] else None
    unmetered_ratio = _ratio(med[UNMETERED], med[NATIVE]) if ok[UNMETERED] else None
    overhead = None
    if with_overhead and ok[METERED] and ok[UNMETERED]:
        r = _ratio(med[METERED], med[UNMETERED])
        overhead = None if r is None else (r - 1.0) * 100.0
    return Row(workload, med[NATIVE], med[METERED], metered_ratio, med[UNMETERED],
               unmetered_ratio, overhead, errors)


def mark_short(rows: Sequence[Row], min_ms: float) -> None:
    """Marks the rows whose native or metered median is below `min_ms`: too
    short to compare. Native: start-up dominated. Sandbox: the work was done
    before the user's code started (the guest pre-imports common modules,
    so `import json` there is a dictionary lookup)."""
    for r in rows:
        r.short = any(ms is not None and ms < min_ms for ms in (r.native_ms, r.metered_ms))


@dataclasses.dataclass
class GeoMeans:
    metered_ratio: Optional[float]
    metered_count: int
    unmetered_ratio: Optional[float]
    unmetered_count: int
    overhead_pct: Optional[float]
    overhead_count: int


def geo_means(rows: Sequence[Row]) -> GeoMeans:
    """Geometric mean of each ratio column over the rows that report it and
    are not marked short.

    The overhead column is the geometric mean of metered/unmetered, as a
    percentage over 1.
    """
    counted = [r for r in rows if not r.short]
    m = [r.metered_ratio for r in counted if r.metered_ratio is not None]
    u = [r.unmetered_ratio for r in counted if r.unmetered_ratio is not None]
    o = [1.0 + r.overhead_pct / 100.0 for r in counted if r.overhead_pct is not None]
    return GeoMeans(
        geometric_mean(m) if m else None, len(m),
        geometric_mean(u) if u else None, len(u),
        (geometric_mean(o) - 1.0) * 100.0 if o else None, len(o))


# The CPU target: the whole-process geometric mean of the metered sandbox
# against native, over the workloads that count. Metering's own overhead is
# reported (the in-interpreter table's last column), not a target.
WHOLE_PROCESS_TARGET_RATIO = 1.35


def whole_process_target_met(means: GeoMeans) -> Optional[bool]:
    """Whether the whole-process metered geometric mean is within the target;
    None when no workload reported one."""
    if means.metered_ratio is None:
        return None
    return means.metered_ratio <= WHOLE_PROCESS_TARGET_RATIO


TABLE_HEADER = ("workload", "native ms", "sandbox ms (metered)", "ratio",
                "sandbox ms (unmetered)", "ratio", "metering overhead %")


def _fmt_ms(v: Optional[float]) -> str:
    if v is None:
        return "n/a"
    return f"{v:.3f}" if v < 10 else f"{v:.1f}"


SHORT_MARK = "*"


def _fmt_ratio(v: Optional[float], has_error: bool, short: bool = False) -> str:
    if has_error:
        return "MISMATCH"
    if v is None:
        return "n/a"
    return f"{v:.2f}x" + (SHORT_MARK if short else "")


def _fmt_pct(v: Optional[float], has_error: bool, short: bool = False) -> str:
    if has_error:
        return "MISMATCH"
    if v is None:
        return "n/a"
    return f"{v:+.1f}%" + (SHORT_MARK if short else "")


def format_table(rows: Sequence[Row], means: GeoMeans) -> str:
    """The table as text: one line per row, then the geometric means. A
    geometric mean over fewer rows than the table has says "(k/n)"."""
    lines = [TABLE_HEADER]
    for r in rows:
        native_bad = NATIVE in r.errors
        m_bad = native_bad or METERED in r.errors
        u_bad = native_bad or UNMETERED in r.errors
        lines.append((r.workload, _fmt_ms(r.native_ms), _fmt_ms(r.metered_ms),
                      _fmt_ratio(r.metered_ratio, m_bad, r.short), _fmt_ms(r.unmetered_ms),
                      _fmt_ratio(r.unmetered_ratio, u_bad, r.short),
                      _fmt_pct(r.overhead_pct, m_bad or u_bad, r.short)))
    n = len(rows)

    def counted(text: str, count: int) -> str:
        return text if count == n or text == "n/a" else f"{text} ({count}/{n})"

    lines.append(("geometric mean", "", "",
                  counted(_fmt_ratio(means.metered_ratio, False), means.metered_count), "",
                  counted(_fmt_ratio(means.unmetered_ratio, False), means.unmetered_count),
                  counted(_fmt_pct(means.overhead_pct, False), means.overhead_count)))
    widths = [max(len(line[i]) for line in lines) for i in range(len(TABLE_HEADER))]
    out = []
    for k, line in enumerate(lines):
        cells = [line[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(line[1:], widths[1:])]
        out.append("  ".join(cells).rstrip())
        if k == 0 or k == len(lines) - 2:
            out.append("  ".join("-" * w for w in widths))
    if any(r.short for r in rows):
        out.append(f"{SHORT_MARK} too short to compare (native start-up dominated, or the "
                   "sandbox had it pre-imported): left out of the geometric mean")
    return "\n".join(out)


# --------------------------------------------------------------------------
# Running things
# --------------------------------------------------------------------------


def native_env() -> dict[str, str]:
    # -I ignores PYTHON* variables; the locale mirrors the sandbox's default env.
    env = dict(os.environ)
    env["LC_ALL"] = "C.UTF-8"
    return env


def run_native(python: str, wrapped: Path, timeout: float) -> Sample:
    t0 = time.perf_counter()
    p = subprocess.run([python, "-I", str(wrapped)], capture_output=True, env=native_env(),
                       timeout=timeout)
    t1 = time.perf_counter()
    stdout = p.stdout.decode("utf-8", errors="replace")
    stderr = p.stderr.decode("utf-8", errors="replace")
    exec_ms, stderr = split_timing(stderr)
    return Sample(exec_ms, (t1 - t0) * 1e3, stdout, p.returncode == 0, stderr)


def run_sandbox(runner: Path, wrapped: Path, timeout: float) -> Sample:
    t0 = time.perf_counter()
    p = subprocess.run([str(runner), str(wrapped), "1"], capture_output=True, timeout=timeout)
    t1 = time.perf_counter()
    if p.returncode != 0:
        raise BenchError(f"{runner} {wrapped} exited {p.returncode}: "
                         f"{p.stderr.decode('utf-8', errors='replace').strip()}")
    (run,) = parse_runner_output(p.stdout.decode("utf-8"))
    exec_ms, stderr = split_timing(run["stderr"])
    return Sample(exec_ms, (t1 - t0) * 1e3, run["stdout"], run["success"], stderr,
                  runpython_ms=float(run["wall_ms"]), duration_ms=float(run["duration_ms"]),
                  fuel_consumed=run["fuel_consumed"])


def cold_start(cli: Path, python: str, repetitions: int, timeout: float) -> dict:
    """Whole-process wall time of print(2+2): `snakecage run -c` vs python3.11 -I -c."""
    code = "print(2+2)"
    times: dict[str, list[float]] = {"snakecage_run": [], "native": []}
    errors = []
    commands = {"snakecage_run": [str(cli), "run", "-c", code],
                "native": [python, "-I", "-c", code]}
    for i in range(repetitions):
        order = list(commands) if i % 2 == 0 else list(reversed(list(commands)))
        for name in order:
            t0 = time.perf_counter()
            p = subprocess.run(commands[name], capture_output=True, env=native_env(),
                               timeout=timeout)
            t1 = time.perf_counter()
            out = p.stdout.decode("utf-8", errors="replace")
            if p.returncode != 0 or out != "4\n":
                errors.append(f"cold start: {name} run {i}: exit {p.returncode}, printed "
                              f"{_shorten(out)}, stderr {_shorten(p.stderr.decode('utf-8', 'replace'))}")
            times[name].append((t1 - t0) * 1e3)
    result = {
        "repetitions": repetitions,
        "snakecage_run_ms": median(times["snakecage_run"]),
        "native_ms": median(times["native"]),
        "errors": errors,
    }
    result["ratio"] = None if errors else result["snakecage_run_ms"] / result["native_ms"]
    return result


def find_workloads(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise BenchError(f"--workloads: not a directory: {directory}")
    files = sorted(p for p in directory.glob("*.py") if p.is_file())
    if not files:
        raise BenchError(f"--workloads: no *.py files in {directory}")
    return files


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workloads", nargs="?", type=Path, default=DEFAULT_WORKLOADS,
                    help=f"directory of *.py workloads (default: {DEFAULT_WORKLOADS})")
    ap.add_argument("--build-dir", type=Path, default=DEFAULT_BUILD_DIR,
                    help=f"CMake build directory (default: {DEFAULT_BUILD_DIR})")
    ap.add_argument("--runner", type=Path, help="metered runner (default: BUILD/bin/"
                    f"{RUNNER_NAME})")
    ap.add_argument("--runner-unmetered", type=Path, help="unmetered runner (default: "
                    f"BUILD/bin/{UNMETERED_RUNNER_NAME})")
    ap.add_argument("--cli", type=Path, help="snakecage CLI (default: BUILD/bin/snakecage)")
    ap.add_argument("--python", default=NATIVE_PYTHON,
                    help=f"native interpreter (default: {NATIVE_PYTHON})")
    ap.add_argument("-n", "--repetitions", type=int, default=5,
                    help="measured runs of each workload in each variant (default: 5)")
    ap.add_argument("--warmup", type=int, default=1,
                    help="unmeasured (but checked) rounds before them (default: 1)")
    ap.add_argument("--cold-start-repetitions", type=int, default=20,
                    help="runs of print(2+2) each way (default: 20; 0 skips it)")
    ap.add_argument("--only", action="append", default=[],
                    help="run only this workload (file stem; repeatable)")
    ap.add_argument("--min-native-ms", type=float, default=5.0,
                    help="in-interpreter rows whose native or metered median is below "
                    "this are shown but left out of the geometric mean (default: 5)")
    ap.add_argument("--timeout", type=float, default=600.0,
                    help="seconds allowed for one run (default: 600)")
    ap.add_argument("--json", action="store_true", help="print everything as one JSON object")
    args = ap.parse_args(argv)

    if args.repetitions < 1:
        ap.error(f"--repetitions: must be >= 1 (got {args.repetitions})")
    if args.warmup < 0:
        ap.error(f"--warmup: must be >= 0 (got {args.warmup})")
    if args.cold_start_repetitions < 0:
        ap.error(f"--cold-start-repetitions: must be >= 0 (got {args.cold_start_repetitions})")
    runner = (args.runner or args.build_dir / "bin" / RUNNER_NAME).absolute()
    unmetered = (args.runner_unmetered or
                 args.build_dir / "bin" / UNMETERED_RUNNER_NAME).absolute()
    cli = (args.cli or args.build_dir / "bin" / "snakecage").absolute()
    if not os.access(runner, os.X_OK):
        ap.error(f"--runner: no executable at {runner} (build the `bench` target: "
                 f"cmake --build {args.build_dir} --target bench)")
    if not os.access(args.python, os.X_OK):
        ap.error(f"--python: no executable at {args.python}")
    have_unmetered = os.access(unmetered, os.X_OK)
    if not have_unmetered:
        log(f"NOTE: no unmetered runner at {unmetered}: the unmetered columns and the "
            "metering overhead are n/a (the bench target builds it when the "
            "snakecage_engine_unmetered library exists)")
    have_cli = os.access(cli, os.X_OK)
    if not have_cli and args.cold_start_repetitions:
        log(f"NOTE: no CLI at {cli}: the cold-start comparison is skipped")

    try:
        workloads = find_workloads(args.workloads)
    except BenchError as e:
        ap.error(str(e))
    if args.only:
        wanted = set(args.only)
        unknown = wanted - {p.stem for p in workloads}
        if unknown:
            ap.error(f"--only: no such workload in {args.workloads}: {', '.join(sorted(unknown))}")
        workloads = [p for p in workloads if p.stem in wanted]

    variants = [NATIVE, METERED] + ([UNMETERED] if have_unmetered else [])
    runners = {METERED: runner, UNMETERED: unmetered}
    load_before = os.getloadavg()
    started = time.time()
    samples: dict[str, dict[str, list[Sample]]] = {w.stem: {v: [] for v in variants}
                                                   for w in workloads}
    warm_samples: dict[str, dict[str, list[Sample]]] = {w.stem: {v: [] for v in variants}
                                                        for w in workloads}
    host_errors: list[str] = []

    with tempfile.TemporaryDirectory(prefix="snakecage-bench-") as tmp:
        wrapped = {}
        for w in workloads:
            path = Path(tmp) / w.name
            path.write_text(wrap_program(w.read_text(encoding="utf-8"), w.name),
                            encoding="utf-8")
            wrapped[w.stem] = path
        rounds = args.warmup + args.repetitions
        for rnd in range(rounds):
            warm = rnd < args.warmup
            log(f"round {rnd + 1}/{rounds}{' (warm-up)' if warm else ''}")
            # Rotate the order so no variant always runs right after another.
            order = variants[rnd % len(variants):] + variants[:rnd % len(variants)]
            for w in workloads:
                for v in order:
                    try:
                        if v == NATIVE:
                            s = run_native(args.python, wrapped[w.stem], args.timeout)
                        else:
                            s = run_sandbox(runners[v], wrapped[w.stem], args.timeout)
                    except (BenchError, OSError, subprocess.TimeoutExpired) as e:
                        host_errors.append(f"{w.stem}: {v}: {e}")
                        s = Sample(None, None, "", False, str(e))
                    # Warm-up runs are checked, not measured.
                    (warm_samples if warm else samples)[w.stem][v].append(s)

    cold = None
    if have_cli and args.cold_start_repetitions:
        log(f"cold start: {args.cold_start_repetitions} x print(2+2) each way")
        cold = cold_start(cli, args.python, args.cold_start_repetitions, args.timeout)
    load_after = os.getloadavg()

    errors: list[str] = list(host_errors)
    exec_rows, process_rows = [], []
    for w in workloads:
        measured = samples[w.stem]
        checked = {v: measured[v] + warm_samples[w.stem][v] for v in variants}
        errs = check_samples(w.stem, checked)
        for msgs in errs.values():
            errors.extend(msgs)
        exec_rows.append(build_row(w.stem, measured, "exec_ms", errs))
        # The metered runner resumes from the build's start-up snapshot; the
        # unmetered guest has none and starts its interpreter (~30 ms): the
        # difference is not metering, so no overhead is reported here.
        process_rows.append(build_row(w.stem, measured, "process_ms", errs,
                                      with_overhead=False))
    if cold:
        errors.extend(cold["errors"])

    mark_short(exec_rows, args.min_native_ms)
    exec_means = geo_means(exec_rows)
    process_means = geo_means(process_rows)
    detail = []
    for w in workloads:
        m = samples[w.stem][METERED]
        detail.append({
            "workload": w.stem,
            "runpython_wall_ms": _median_of(m, "runpython_ms"),
            "engine_duration_ms": _median_of(m, "duration_ms"),
            "fuel_consumed": m[0].fuel_consumed if m else None,
            "unmetered_runpython_wall_ms": _median_of(samples[w.stem].get(UNMETERED, []),
                                                      "runpython_ms"),
        })

    report = {
        "machine": {
            "cpus": os.cpu_count(),
            "loadavg_before": list(load_before),
            "loadavg_after": list(load_after),
            "native_python": args.python,
            "elapsed_s": time.time() - started,
        },
        "repetitions": args.repetitions,
        "min_native_ms": args.min_native_ms,
        "warmup": args.warmup,
        "workloads_dir": str(args.workloads),
        "unmetered_runner": str(unmetered) if have_unmetered else None,
        "in_interpreter": {"rows": [dataclasses.asdict(r) for r in exec_rows],
                           "geomean": dataclasses.asdict(exec_means)},
        "whole_process": {"rows": [dataclasses.asdict(r) for r in process_rows],
                          "geomean": dataclasses.asdict(process_means)},
        "sandbox_detail": detail,
        "cold_start": cold,
        "targets": {"whole_process_geomean_le_%.2fx" % WHOLE_PROCESS_TARGET_RATIO:
                    whole_process_target_met(process_means)},
        "errors": errors,
    }

    if errors:
        log("")
        log("!" * 72)
        log(f"!! {len(errors)} ERROR(S): no ratio is reported for these:")
        for e in errors:
            log(f"!!   {e}")
        log("!" * 72)

    if args.json:
        print(json.dumps(report, indent=None))
    else:
        print(f"snakecage vs {args.python} -I: median of {args.repetitions} runs "
              f"({args.warmup} warm-up), {os.cpu_count()} CPUs, load average "
              f"{load_before[0]:.2f} before / {load_after[0]:.2f} after")
        print()
        print("In-interpreter time (the program's compile+exec as the interpreter times it; "
              "headline):")
        print(format_table(exec_rows, exec_means))
        print()
        print("Whole process (native: python3.11 -I; sandbox: the runner process, one "
              "RunPython each):")
        print(format_table(process_rows, process_means))
        print("The metered runner resumes from the start-up snapshot; the unmetered guest has "
              "none and starts its interpreter, so metering's cost is the in-interpreter "
              "overhead above.")
        print()
        print("Sandbox detail (medians): RunPython wall ms metered / unmetered, fuel consumed")
        for d in detail:
            print(f"  {d['workload']:<16} {_fmt_ms(d['runpython_wall_ms']):>9} / "
                  f"{_fmt_ms(d['unmetered_runpython_wall_ms']):>9}   "
                  f"fuel {d['fuel_consumed'] if d['fuel_consumed'] is not None else 'n/a'}")
        if cold:
            print()
            ratio = "MISMATCH" if cold["ratio"] is None else f"{cold['ratio']:.2f}x"
            print(f"Cold print(2+2), whole process, median of {cold['repetitions']}: "
                  f"snakecage run {cold['snakecage_run_ms']:.1f} ms, "
                  f"python3.11 -I -c {cold['native_ms']:.1f} ms ({ratio})")
        print()
        met = whole_process_target_met(process_means)
        verdict = ("n/a" if met is None else
                   f"{'met' if met else 'MISSED'} ({process_means.metered_ratio:.2f}x)")
        print(f"Target: whole-process geometric mean <= {WHOLE_PROCESS_TARGET_RATIO:.2f}x "
              f"with metering on: {verdict}. Metering's overhead is reported above, not a "
              "target.")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
