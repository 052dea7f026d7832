"""The Python package's overhead: `sandbox.execute("print(2+2)")` from
Python, warm, against the library's own PythonSandbox::Execute() timed in
C++, and against `subprocess.run([python3.11, "-c", ...])`, interleaved in
one run. Reports medians; asserts nothing.

The binding's overhead is measured per call: the time of execute() from
Python minus the time the library's Execute() took inside that same call
(the native module times it). Comparing medians of separate loops instead
mixes in an effect of the executor itself: an execution that follows the
previous one at once is faster than one after a pause (caches, wake-ups),
so any work between calls, Python's or not, shows up as executor time.
The library's median in a tight C++ loop is reported beside it.

Run it with the interpreter the package is installed in:
  VENV/bin/python bench/python_binding.py [--rounds N] [--batch N] [--json]
(`make bench-python` builds the package into a venv and runs this.)
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import snakecage

CODE = "print(2+2)"
NATIVE = "/usr/bin/python3.11"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds")
    parser.add_argument("--batch", type=int, default=30, help="executions per variant per round")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as root:
        sandbox = snakecage.create_sandbox(workspace_root=root)
        for _ in range(20):  # zygote up, pages warm
            assert sandbox.execute(CODE).stdout == "4\n"
        native_sandbox = type(sandbox._native)
        python_ms, inside_ms, overhead_ms, library_ms, subprocess_ms = [], [], [], [], []
        for _ in range(args.rounds):
            for _ in range(args.batch):
                start = time.perf_counter()
                result = sandbox.execute(CODE)
                elapsed = (time.perf_counter() - start) * 1000
                python_ms.append(elapsed)
                inside_ms.append(native_sandbox.last_execute_ms())
                overhead_ms.append(elapsed - inside_ms[-1])
                assert result.stdout == "4\n", result
            library_ms += sandbox._native.time_executions(CODE, args.batch)
            for _ in range(max(1, args.batch // 5)):
                start = time.perf_counter()
                out = subprocess.run([NATIVE, "-c", CODE], capture_output=True, text=True)
                subprocess_ms.append((time.perf_counter() - start) * 1000)
                assert out.stdout == "4\n"

    report = {
        "python_execute_median_ms": statistics.median(python_ms),
        "library_execute_in_those_calls_median_ms": statistics.median(inside_ms),
        "binding_overhead_median_ms": statistics.median(overhead_ms),
        "library_execute_tight_loop_median_ms": statistics.median(library_ms),
        "subprocess_python_median_ms": statistics.median(subprocess_ms),
        "speedup_vs_subprocess": statistics.median(subprocess_ms) / statistics.median(python_ms),
        "samples": {"python": len(python_ms), "library": len(library_ms),
                    "subprocess": len(subprocess_ms)},
        "load_average": os.getloadavg(),
    }
    if args.json:
        print(json.dumps(report))
        return
    print(f"sandbox.execute() from Python          median {report['python_execute_median_ms']:.3f} ms")
    print(f"  of which PythonSandbox::Execute() (C++) median "
          f"{report['library_execute_in_those_calls_median_ms']:.3f} ms")
    print(f"  binding overhead per call               median "
          f"{report['binding_overhead_median_ms'] * 1000:.0f} us")
    print(f"PythonSandbox::Execute(), tight C++ loop  median "
          f"{report['library_execute_tight_loop_median_ms']:.3f} ms")
    print(f"subprocess python3.11 -c                 median {report['subprocess_python_median_ms']:.3f} ms "
          f"({report['speedup_vs_subprocess']:.1f}x slower than the sandbox)")
    print(f"load average {report['load_average']}")


if __name__ == "__main__":
    sys.exit(main())
