#!/usr/bin/python3
"""Tests of run_benchmarks.py's logic: parsing, statistics, mismatch detection,
table layout, and one end-to-end run of the script with stand-in runners (no
sandbox build needed). Run by ctest as `bench_script_logic`."""

from __future__ import annotations

import json
import math
import os
import stat
import subprocess
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import run_benchmarks as rb  # noqa: E402

PYTHON = sys.executable


def sample(exec_ms, stdout="out\n", success=True, process_ms=None):
    return rb.Sample(exec_ms, process_ms if process_ms is not None else exec_ms + 10.0,
                     stdout, success)


def runner_line(**overrides):
    line = {"run": 0, "wall_ms": 12.5, "duration_ms": 12.0, "fuel_consumed": 42,
            "success": True, "exit_code": 0, "trap_reason": None, "stdout": "4\n",
            "stderr": ""}
    line.update(overrides)
    return json.dumps(line)


class WrapperTest(unittest.TestCase):
    def run_wrapped(self, source, name="prog.py"):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            path.write_text(rb.wrap_program(source, name), encoding="utf-8")
            return subprocess.run([PYTHON, "-I", str(path)], capture_output=True, text=True,
                                  timeout=60)

    def test_program_output_is_untouched_and_timing_goes_to_stderr(self):
        p = self.run_wrapped("import sys\nprint('hello', __name__)\n"
                             "print('warn', file=sys.stderr)\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, "hello __main__\n")
        exec_ms, rest = rb.split_timing(p.stderr)
        self.assertIsNotNone(exec_ms)
        self.assertGreaterEqual(exec_ms, 0.0)
        self.assertEqual(rest, "warn\n")

    def test_source_with_quotes_and_backslashes_survives(self):
        p = self.run_wrapped('print("a\'b\\\\c", \'"\', """x\ny""")\n')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, "a'b\\c \" x\ny\n")

    def test_failing_program_prints_no_timing(self):
        p = self.run_wrapped("raise SystemExit(3)\n")
        self.assertEqual(p.returncode, 3)
        self.assertEqual(rb.split_timing(p.stderr), (None, p.stderr))


class SplitTimingTest(unittest.TestCase):
    def test_extracts_value_and_strips_line(self):
        err = "boom\n\n" + rb.TIMING_MARKER + "12.5\n"
        self.assertEqual(rb.split_timing(err), (12.5, "boom\n"))

    def test_absent_line(self):
        self.assertEqual(rb.split_timing("Traceback...\n"), (None, "Traceback...\n"))

    def test_bad_number_is_an_error(self):
        with self.assertRaisesRegex(rb.BenchError, "no number"):
            rb.split_timing("\n" + rb.TIMING_MARKER + "fast\n")

    def test_negative_value_is_an_error(self):
        with self.assertRaisesRegex(rb.BenchError, "bad value"):
            rb.split_timing("\n" + rb.TIMING_MARKER + "-1.0\n")


class ParseRunnerOutputTest(unittest.TestCase):
    def test_two_lines(self):
        runs = rb.parse_runner_output(runner_line() + "\n" + runner_line(run=1) + "\n")
        self.assertEqual([r["run"] for r in runs], [0, 1])
        self.assertEqual(runs[0]["stdout"], "4\n")
        self.assertEqual(runs[0]["fuel_consumed"], 42)

    def test_missing_field_is_named(self):
        line = json.loads(runner_line())
        del line["fuel_consumed"]
        with self.assertRaisesRegex(rb.BenchError, "line 1: missing field 'fuel_consumed'"):
            rb.parse_runner_output(json.dumps(line))

    def test_bool_is_not_an_int(self):
        with self.assertRaisesRegex(rb.BenchError, "field 'exit_code' has type bool"):
            rb.parse_runner_output(runner_line(exit_code=True))

    def test_wrong_type_is_named(self):
        with self.assertRaisesRegex(rb.BenchError, "line 2: field 'success' has type str"):
            rb.parse_runner_output(runner_line() + "\n" + runner_line(success="yes"))

    def test_not_json(self):
        with self.assertRaisesRegex(rb.BenchError, "line 1: not JSON"):
            rb.parse_runner_output("snakecage: error\n")

    def test_empty_output(self):
        with self.assertRaisesRegex(rb.BenchError, "no result line"):
            rb.parse_runner_output("\n")


class StatisticsTest(unittest.TestCase):
    def test_median(self):
        self.assertEqual(rb.median([3.0, 1.0, 2.0]), 2.0)
        self.assertEqual(rb.median([4.0, 1.0, 2.0, 3.0]), 2.5)
        with self.assertRaises(rb.BenchError):
            rb.median([])

    def test_geometric_mean(self):
        self.assertAlmostEqual(rb.geometric_mean([1.0, 4.0]), 2.0, places=12)
        self.assertAlmostEqual(rb.geometric_mean([2.0, 8.0, 4.0]), 4.0, places=12)
        self.assertAlmostEqual(rb.geometric_mean([1.5]), 1.5, places=12)

    def test_geometric_mean_rejects_bad_values(self):
        for bad in ([], [1.0, 0.0], [1.0, -2.0], [math.nan], [math.inf]):
            with self.subTest(values=bad), self.assertRaises(rb.BenchError):
                rb.geometric_mean(bad)


class MismatchTest(unittest.TestCase):
    def test_identical_output(self):
        self.assertIsNone(rb.output_mismatch("w", "metered", "x 1\n", "x 1\n"))

    def test_trailing_newline_counts(self):
        m = rb.output_mismatch("nbody", "metered run 0", "x 1\n", "x 1")
        self.assertEqual(m, "nbody: metered run 0 printed 'x 1' but native printed 'x 1\\n'")

    def test_check_samples_flags_mismatch_failure_and_missing_timing(self):
        samples = {
            rb.NATIVE: [sample(10.0), sample(11.0)],
            rb.METERED: [sample(15.0), sample(15.0, stdout="other\n")],
            rb.UNMETERED: [sample(14.0), rb.Sample(None, 20.0, "out\n", True)],
        }
        errs = rb.check_samples("w", samples)
        self.assertEqual(sorted(errs), [rb.METERED, rb.UNMETERED])
        self.assertEqual(errs[rb.METERED],
                         ["w: metered run 1 printed 'other\\n' but native printed 'out\\n'"])
        self.assertEqual(errs[rb.UNMETERED], ["w: unmetered run 1 printed no timing line"])

    def test_failed_run_is_an_error_even_with_equal_output(self):
        samples = {rb.NATIVE: [sample(10.0)],
                   rb.METERED: [rb.Sample(1.0, 5.0, "out\n", False, "x\nExecution trapped: OutOfFuel\n")]}
        errs = rb.check_samples("w", samples)
        self.assertEqual(errs, {rb.METERED: ["w: metered run 0 failed: x | Execution trapped: OutOfFuel"]})

    def test_failed_run_gets_one_message_not_a_mismatch_too(self):
        samples = {rb.NATIVE: [sample(10.0)],
                   rb.METERED: [rb.Sample(None, 5.0, "", False, "OSError: disk I/O error\n")]}
        self.assertEqual(rb.check_samples("w", samples),
                         {rb.METERED: ["w: metered run 0 failed: OSError: disk I/O error"]})

    def test_native_disagreeing_with_itself(self):
        samples = {rb.NATIVE: [sample(10.0), sample(10.0, stdout="different\n")],
                   rb.METERED: [sample(12.0)]}
        self.assertEqual(list(rb.check_samples("w", samples)), [rb.NATIVE])


class RowsTest(unittest.TestCase):
    def samples(self, metered_stdout="out\n"):
        return {
            rb.NATIVE: [sample(10.0), sample(12.0), sample(100.0)],
            rb.METERED: [sample(15.0), sample(18.0, stdout=metered_stdout), sample(16.0)],
            rb.UNMETERED: [sample(14.0), sample(15.0), sample(13.0)],
        }

    def test_ratios_from_medians(self):
        s = self.samples()
        row = rb.build_row("w", s, "exec_ms", rb.check_samples("w", s))
        self.assertEqual((row.native_ms, row.metered_ms, row.unmetered_ms), (12.0, 16.0, 14.0))
        self.assertAlmostEqual(row.metered_ratio, 16.0 / 12.0)
        self.assertAlmostEqual(row.unmetered_ratio, 14.0 / 12.0)
        self.assertAlmostEqual(row.overhead_pct, (16.0 / 14.0 - 1) * 100)
        process = rb.build_row("w", s, "process_ms", {})
        self.assertEqual(process.native_ms, 22.0)

    def test_the_cpu_target_is_the_whole_process_metered_geomean(self):
        def means(ratio):
            return rb.GeoMeans(ratio, 1, 0.5, 1, 300.0, 1)
        self.assertTrue(rb.whole_process_target_met(means(1.35)))
        self.assertFalse(rb.whole_process_target_met(means(1.36)))
        self.assertIsNone(rb.whole_process_target_met(means(None)))

    def test_a_row_without_overhead_keeps_its_ratios(self):
        s = self.samples()
        row = rb.build_row("w", s, "process_ms", {}, with_overhead=False)
        self.assertIsNone(row.overhead_pct)
        self.assertIsNotNone(row.metered_ratio)
        self.assertIsNotNone(row.unmetered_ratio)

    def test_mismatch_removes_ratio_and_overhead_only(self):
        s = self.samples(metered_stdout="bad\n")
        row = rb.build_row("w", s, "exec_ms", rb.check_samples("w", s))
        self.assertIsNone(row.metered_ratio)
        self.assertIsNone(row.overhead_pct)
        self.assertAlmostEqual(row.unmetered_ratio, 14.0 / 12.0)

    def test_native_error_removes_every_ratio(self):
        s = self.samples()
        s[rb.NATIVE][0] = sample(10.0, success=False)
        row = rb.build_row("w", s, "exec_ms", rb.check_samples("w", s))
        self.assertEqual((row.metered_ratio, row.unmetered_ratio, row.overhead_pct),
                         (None, None, None))

    def test_missing_unmetered_variant(self):
        s = self.samples()
        del s[rb.UNMETERED]
        row = rb.build_row("w", s, "exec_ms", rb.check_samples("w", s))
        self.assertAlmostEqual(row.metered_ratio, 16.0 / 12.0)
        self.assertIsNone(row.unmetered_ms)
        self.assertIsNone(row.unmetered_ratio)
        self.assertIsNone(row.overhead_pct)

    def test_geo_means_skip_unreported_ratios(self):
        rows = [rb.Row("a", 1, 2, 2.0, 1, 1.0, 100.0),
                rb.Row("b", 1, 8, 8.0, 4, 4.0, 100.0),
                rb.Row("c", 1, 5, None, 1, 1.0, None, {rb.METERED: ["x"]})]
        g = rb.geo_means(rows)
        self.assertAlmostEqual(g.metered_ratio, 4.0)
        self.assertEqual(g.metered_count, 2)
        self.assertAlmostEqual(g.unmetered_ratio, 4 ** (1 / 3))
        self.assertEqual(g.unmetered_count, 3)
        self.assertAlmostEqual(g.overhead_pct, 100.0)
        self.assertEqual(g.overhead_count, 2)

    def test_short_rows_are_shown_but_not_averaged(self):
        rows = [rb.Row("hello", 0.5, 5.0, 10.0, 4.0, 8.0, 25.0),
                rb.Row("nbody", 300.0, 450.0, 1.5, 420.0, 1.4, 7.0)]
        rb.mark_short(rows, 5.0)
        self.assertEqual([r.short for r in rows], [True, False])
        g = rb.geo_means(rows)
        self.assertAlmostEqual(g.metered_ratio, 1.5)
        self.assertEqual((g.metered_count, g.unmetered_count, g.overhead_count), (1, 1, 1))
        lines = rb.format_table(rows, g).splitlines()
        self.assertEqual(lines[2].split(),
                         ["hello", "0.500", "5.000", "10.00x*", "4.000", "8.00x*", "+25.0%*"])
        self.assertEqual(lines[-2].split(),
                         ["geometric", "mean", "1.50x", "(1/2)", "1.40x", "(1/2)", "+7.0%",
                          "(1/2)"])
        self.assertTrue(lines[-1].startswith("* too short to compare"))

    def test_rows_the_sandbox_did_before_the_users_code_are_not_averaged(self):
        # The guest pre-imports common modules: `imports` takes 0.6 ms there.
        rows = [rb.Row("imports", 19.5, 0.6, 0.03, 0.5, 0.03, 20.0),
                rb.Row("nbody", 300.0, 450.0, 1.5, 420.0, 1.4, 7.0)]
        rb.mark_short(rows, 5.0)
        self.assertEqual([r.short for r in rows], [True, False])
        self.assertAlmostEqual(rb.geo_means(rows).metered_ratio, 1.5)

    def test_table_marks_mismatch_and_partial_means(self):
        rows = [rb.Row("alpha", 10.0, 15.0, 1.5, 14.0, 1.4, 7.142857),
                rb.Row("beta", 100.0, 130.0, None, 120.0, 1.2, None, {rb.METERED: ["x"]})]
        text = rb.format_table(rows, rb.geo_means(rows))
        lines = text.splitlines()
        self.assertEqual(len(lines), 6)  # header, rule, 2 rows, rule, mean
        self.assertEqual(lines[0].split("  ")[0], "workload")
        self.assertEqual(lines[2].split(),
                         ["alpha", "10.0", "15.0", "1.50x", "14.0", "1.40x", "+7.1%"])
        self.assertEqual(lines[3].split(),
                         ["beta", "100.0", "130.0", "MISMATCH", "120.0", "1.20x", "MISMATCH"])
        self.assertEqual(lines[5].split(),
                         ["geometric", "mean", "1.50x", "(1/2)", "1.30x", "+7.1%", "(1/2)"])


class EndToEndTest(unittest.TestCase):
    """The whole script with stand-in runners that run the wrapped file with
    this Python and print the runner's JSON line; the unmetered one corrupts
    the output of workload `b`, which must be reported as a mismatch."""

    RUNNER = textwrap.dedent('''\
        #!{python}
        import json, subprocess, sys
        p = subprocess.run([{python!r}, "-I", sys.argv[1]], capture_output=True, text=True)
        out = p.stdout
        if {corrupt!r} and "b-out" in out:
            out = out.replace("b-out", "b-bad")
        print(json.dumps({{"run": 0, "wall_ms": 1.0, "duration_ms": 1.0, "fuel_consumed": 7,
                          "success": p.returncode == 0, "exit_code": p.returncode,
                          "trap_reason": None, "stdout": out, "stderr": p.stderr}}))
        ''')

    def write_exe(self, path, text):
        path.write_text(text)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)

    def run_script(self, tmp, *extra):
        work = tmp / "workloads"
        work.mkdir()
        (work / "a.py").write_text("print('a-out', sum(range(1000)))\n")
        (work / "b.py").write_text("print('b-out')\n")
        (work / "notes.txt").write_text("not a workload\n")
        self.write_exe(tmp / "metered", self.RUNNER.format(python=PYTHON, corrupt=False))
        self.write_exe(tmp / "unmetered", self.RUNNER.format(python=PYTHON, corrupt=True))
        cmd = [PYTHON, "-B", str(HERE / "run_benchmarks.py"), str(work),
               "--runner", str(tmp / "metered"), "--runner-unmetered", str(tmp / "unmetered"),
               "--cli", str(tmp / "no-cli"), "--python", PYTHON, "-n", "2", "--warmup", "0", "--min-native-ms", "0",
               *extra]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)

    def test_json_report_with_mismatch(self):
        with tempfile.TemporaryDirectory() as d:
            p = self.run_script(Path(d), "--json")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("ERROR(S)", p.stderr)
        report = json.loads(p.stdout)
        rows = {r["workload"]: r for r in report["in_interpreter"]["rows"]}
        self.assertEqual(sorted(rows), ["a", "b"])
        self.assertIsNotNone(rows["a"]["metered_ratio"])
        self.assertIsNotNone(rows["a"]["unmetered_ratio"])
        self.assertIsNotNone(rows["b"]["metered_ratio"])
        self.assertIsNone(rows["b"]["unmetered_ratio"])
        self.assertIsNone(rows["b"]["overhead_pct"])
        self.assertEqual(report["in_interpreter"]["geomean"]["unmetered_count"], 1)
        self.assertEqual(report["in_interpreter"]["geomean"]["metered_count"], 2)
        self.assertEqual(report["errors"],
                         ["b: unmetered run 0 printed 'b-bad\\n' but native printed 'b-out\\n'",
                          "b: unmetered run 1 printed 'b-bad\\n' but native printed 'b-out\\n'"])
        self.assertIsNone(report["cold_start"])
        whole = report["whole_process"]["geomean"]["metered_ratio"]
        self.assertEqual(report["targets"], {"whole_process_geomean_le_1.35x": whole <= 1.35})
        self.assertEqual(report["sandbox_detail"][0]["fuel_consumed"], 7)

    def test_text_report(self):
        with tempfile.TemporaryDirectory() as d:
            p = self.run_script(Path(d), "--only", "a")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("In-interpreter time", p.stdout)
        self.assertIn("Whole process", p.stdout)
        a_lines = [l for l in p.stdout.splitlines() if l.startswith("a ")]
        self.assertEqual(len(a_lines), 2)
        self.assertNotIn("MISMATCH", p.stdout)

    def test_missing_runner_is_a_usage_error(self):
        with tempfile.TemporaryDirectory() as d:
            p = subprocess.run([PYTHON, "-B", str(HERE / "run_benchmarks.py"), d,
                                "--runner", os.path.join(d, "absent")],
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--runner: no executable at", p.stderr)


if __name__ == "__main__":
    unittest.main()
