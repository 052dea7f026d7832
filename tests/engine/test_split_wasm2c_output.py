"""Tests of src/engine/aot/split_wasm2c_output.py on real wasm2c output.

Run by ctest (engine.split_wasm2c_output) with SNAKECAGE_SOURCE_DIR,
SNAKECAGE_WASM2C and SNAKECAGE_WAT2WASM in the environment.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

SOURCE_DIR = os.environ.get("SNAKECAGE_SOURCE_DIR",
                            os.path.join(os.path.dirname(__file__), "..", ".."))
SPLITTER = os.path.join(SOURCE_DIR, "src", "engine", "aot", "split_wasm2c_output.py")
WASM2C = os.environ.get("SNAKECAGE_WASM2C", "wasm2c")
WAT2WASM = os.environ.get("SNAKECAGE_WAT2WASM", "wat2wasm")
FUEL_METER = os.environ.get("SNAKECAGE_FUEL_METER")
MODULES = os.path.join(SOURCE_DIR, "tests", "engine", "modules")

sys.path.insert(0, os.path.dirname(SPLITTER))
import split_wasm2c_output  # noqa: E402

IMPORTED_MEMORY_WAT = """
(module
  (import "env" "memory" (memory 1))
  (func (export "get") (result i32) (i32.load (i32.const 0))))
"""

MANY_FUNCTIONS_WAT = "(module (memory 1)\n" + "".join(
    f'  (func (export "f{i}") (param i32) (result i32)'
    f' (i32.add (i32.load (local.get 0)) (i32.const {i})))\n' for i in range(40)) + ")\n"


# A function with the branches and calls of CPython's C: 30 times "return
# early if x is 0, else add leaf(x) and count x down".
BRANCHY_WAT = """
(module
  (memory 1)
  (func $leaf (param i32) (result i32) (i32.load (local.get 0)))
  (func $branchy (export "branchy") (param i32 i32) (result i32)
""" + "".join("""    (block
      (br_if 0 (i32.eqz (local.get 0)))
      (local.set 1 (i32.add (local.get 1) (call $leaf (local.get 0))))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1))))
""" for _ in range(30)) + """    (local.get 1)))
"""

WIDE_SIGNATURE_WAT = """
(module
  (memory 1)
  (func $wide (export "wide")
    (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 13))))
"""


class SplitterTest(unittest.TestCase):
    maxDiff = 2000

    def assertIn(self, member, container, msg=None):  # noqa: N802 (short failure messages)
        if member not in container:
            self.fail(msg or f"{member!r} not found in the {len(container)}-character text")
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="split-test.")
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def wasm2c(self, wat_text=None, wat_file=None, name="mod"):
        wat = wat_file or os.path.join(self.dir, name + ".wat")
        if wat_text is not None:
            with open(wat, "w") as f:
                f.write(wat_text)
        wasm = os.path.join(self.dir, name + ".wasm")
        subprocess.run([WAT2WASM, wat, "-o", wasm], check=True)
        c = os.path.join(self.dir, name + ".c")
        subprocess.run([WASM2C, wasm, "-n", name, "-o", c], check=True)
        return c, c[:-2] + ".h"

    def run_splitter(self, c, h, out, parts, *extra):
        return subprocess.run([sys.executable, SPLITTER, "--input-c", c, "--input-h", h,
                               "--output-dir", out, "--parts", str(parts), *extra],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def test_splits_into_the_requested_units_with_every_function_once(self):
        c, h = self.wasm2c(wat_text=MANY_FUNCTIONS_WAT, name="many")
        out = os.path.join(self.dir, "out")
        proc = self.run_splitter(c, h, out, 5)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        files = sorted(os.listdir(out))
        self.assertEqual(files, ["many.h", "many_internal.h", "many_part00.c", "many_part01.c",
                                 "many_part02.c", "many_part03.c", "many_part04.c",
                                 "parts.json"])
        with open(c) as f:
            original = f.read()
        declared = re.findall(r"^static u32 (w2c_\w+)\(many_instance_t|^static u32 (w2c_\w+)\(",
                              original, re.M)
        names = sorted({a or b for a, b in declared})
        self.assertEqual(len(names), 40)
        defined = []
        for name in files:
            if name.endswith(".c"):
                with open(os.path.join(out, name)) as f:
                    text = f.read()
                self.assertNotIn("\nstatic u32 w2c_", text)
                defined += re.findall(r"^u32 (w2c_\w+)\(Z_many_instance_t\* instance", text, re.M)
        self.assertEqual(sorted(defined), names)
        # The module unit holds no functions; the other four share the 40.
        with open(os.path.join(out, "parts.json")) as f:
            manifest = json.load(f)
        counts = [p["functions"] for p in manifest["parts"]]
        self.assertEqual(counts[0], 0)
        self.assertEqual(sum(counts), 40)
        self.assertEqual(counts[1:], [10, 10, 10, 10])
        with open(os.path.join(out, "many_part00.c")) as f:
            unit0 = f.read()
        self.assertIn("void Z_many_instantiate(", unit0)
        self.assertIn("u32 func_types[", unit0)
        # The public header is wasm2c's, unchanged.
        with open(h) as f, open(os.path.join(out, "many.h")) as g:
            self.assertEqual(f.read(), g.read())

    def test_small_functions_are_defined_static_inline_in_the_private_header(self):
        # f0..f39 are tiny; "big" is not. With a threshold between the two,
        # the tiny ones move to the header (each unit can inline them) and
        # only "big" is left for the parts.
        body = "".join(f" (i32.add (i32.load offset={4 * k} (local.get 0))" for k in range(60))
        big = (f'  (func $big (export "big") (param i32) (result i32) {body}'
               f' (i32.const 0){")" * 60})\n')
        c, h = self.wasm2c(wat_text=MANY_FUNCTIONS_WAT[:-2] + "\n" + big + ")\n", name="mixed")
        out = os.path.join(self.dir, "out")
        proc = self.run_splitter(c, h, out, 3, "--inline-max-bytes", "600")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(os.path.join(out, "mixed_internal.h")) as f:
            header = f.read()
        inline_defs = re.findall(r"^static inline u32 (w2c_\w+)\(Z_mixed_instance_t\* instance",
                                 header, re.M)
        self.assertEqual(sorted(inline_defs), sorted(f"w2c_f{i}" for i in range(40)))
        # Declared static before any definition, so definitions may call
        # each other in any order; "big" keeps its hidden extern link name.
        self.assertLess(header.index("static u32 w2c_f39("), header.index("static inline u32 w2c_f0("))
        self.assertIn('SNAKECAGE_W2C_INTERNAL u32 w2c_big(Z_mixed_instance_t*, u32) '
                      '__asm__("snakecage_w2c_mixed__w2c_big");', header)
        parts_text = ""
        for name in ("mixed_part00.c", "mixed_part01.c", "mixed_part02.c"):
            with open(os.path.join(out, name)) as f:
                parts_text += f.read()
        self.assertEqual(re.findall(r"^u32 (w2c_\w+)\(", parts_text, re.M), ["w2c_big"])
        with open(os.path.join(out, "parts.json")) as f:
            manifest = json.load(f)
        self.assertEqual(manifest["inline_functions"], 40)
        self.assertEqual([p["functions"] for p in manifest["parts"]], [0, 1, 0])

    @unittest.skipUnless(FUEL_METER, "no snakecage-fuel-meter in this build")
    def test_metered_functions_are_inlined_by_their_size_without_the_metering(self):
        # Metering makes a function's C much longer; the threshold applies to
        # the C without the metering code, so the metered build inlines the
        # functions the unmetered one does.
        wat, plain_wasm, metered_wasm = (os.path.join(self.dir, name) for name in
                                         ("branchy.wat", "plain.wasm", "metered.wasm"))
        with open(wat, "w") as f:
            f.write(BRANCHY_WAT)
        # With names, so that w2c_branchy is the function in both (the
        # export of the metered module names a wrapper).
        subprocess.run([WAT2WASM, "--debug-names", wat, "-o", plain_wasm], check=True)
        subprocess.run([FUEL_METER, plain_wasm, metered_wasm], check=True,
                       stdout=subprocess.DEVNULL)
        plain_c, metered_c = (os.path.join(self.dir, name) for name in ("plain.c", "metered.c"))
        for wasm, c in ((plain_wasm, plain_c), (metered_wasm, metered_c)):
            subprocess.run([WASM2C, wasm, "-n", os.path.basename(c)[:-2], "-o", c], check=True)

        def branchy(c_path):
            with open(c_path) as f:
                text = f.read()
            m = re.search(r"^static ((?:struct )?\S+ w2c_branchy\([^;{]*\) \{\n.*?^\}\n)", text,
                          re.M | re.S)
            self.assertIsNotNone(m, c_path)
            return m.group(1)

        plain, metered = branchy(plain_c), branchy(metered_c)
        self.assertGreater(len(metered), 1.5 * len(plain))
        self.assertEqual(split_wasm2c_output.size_without_fuel(plain), len(plain))
        without = split_wasm2c_output.size_without_fuel(metered)
        self.assertGreater(without, 0.9 * len(plain))
        self.assertLess(without, 1.25 * len(plain))
        threshold = str((int(1.25 * len(plain)) + len(metered)) // 2)
        for name, c in (("plain", plain_c), ("metered", metered_c)):
            out = os.path.join(self.dir, "out-" + name)
            proc = self.run_splitter(c, c[:-2] + ".h", out, 2, "--inline-max-bytes", threshold)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            with open(os.path.join(out, name + "_internal.h")) as f:
                header = f.read()
            self.assertRegex(header, r"(?m)^static inline (struct )?\S+ w2c_branchy\(", name)

    def test_refuses_a_negative_inline_threshold(self):
        c, h = self.wasm2c(wat_text=MANY_FUNCTIONS_WAT, name="neg")
        proc = self.run_splitter(c, h, os.path.join(self.dir, "out"), 2,
                                 "--inline-max-bytes", "-1")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("--inline-max-bytes must not be negative", proc.stderr)

    def test_joins_signatures_that_wasm2c_wraps(self):
        c, h = self.wasm2c(wat_text=WIDE_SIGNATURE_WAT, name="wide")
        with open(c) as f:
            self.assertIn(", \n    u32 w2c_p", f.read())  # wasm2c did wrap the definition
        out = os.path.join(self.dir, "out")
        proc = self.run_splitter(c, h, out, 2)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(os.path.join(out, "wide_part01.c")) as f:
            unit = f.read()
        self.assertIn("\nu32 w2c_wide(Z_wide_instance_t* instance, u32 w2c_p0,", unit)
        self.assertNotIn("static u32 w2c_wide", unit)

    def test_private_header_uses_the_constant_base_and_hidden_link_names(self):
        c, h = self.wasm2c(wat_file=os.path.join(MODULES, "probe.wat"), name="probe")
        out = os.path.join(self.dir, "out")
        proc = self.run_splitter(c, h, out, 3)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(os.path.join(out, "probe_internal.h")) as f:
            header = f.read()
        self.assertIn('#include "engine/runtime/linear_memory_layout.h"', header)
        self.assertIn("wasm_rt_memcpy(&result, &SNAKECAGE_LINEAR_MEMORY_BASE[addr], sizeof(t1));",
                      header)
        self.assertIn("wasm_rt_memcpy(&SNAKECAGE_LINEAR_MEMORY_BASE[addr], &wrapped, sizeof(t1));",
                      header)
        self.assertIn("memset(SNAKECAGE_LINEAR_MEMORY_BASE + d, val, n);", header)
        self.assertIn("load_data(&(SNAKECAGE_LINEAR_MEMORY_BASE[o]), i, s);", header)
        self.assertNotIn("&mem->data[addr]", header)
        self.assertNotIn("mem->data + d", header)
        self.assertIn('SNAKECAGE_W2C_INTERNAL u32 w2c_grow(Z_probe_instance_t*, u32) '
                      '__asm__("snakecage_w2c_probe__w2c_grow");', header)
        self.assertIn('SNAKECAGE_W2C_INTERNAL extern u32 func_types[7] '
                      '__asm__("snakecage_w2c_probe__func_types");', header)
        self.assertIn('SNAKECAGE_W2C_INTERNAL extern const u8 data_segment_data_w2c_d0[] '
                      '__asm__("snakecage_w2c_probe__data_segment_data_w2c_d0");', header)

    def test_fails_when_a_memory_helper_has_another_shape(self):
        c, h = self.wasm2c(wat_file=os.path.join(MODULES, "probe.wat"), name="probe")
        with open(c) as f:
            text = f.read()
        with open(c, "w") as f:
            f.write(text.replace("memset(mem->data + d, val, n);",
                                 "memset(&mem->data[d], val, n);"))
        proc = self.run_splitter(c, h, os.path.join(self.dir, "out"), 2)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("expected exactly one occurrence of 'memset(mem->data + d, val, n);', "
                      "found 0", proc.stderr)

    def test_fails_on_an_unknown_top_level_item(self):
        c, h = self.wasm2c(wat_file=os.path.join(MODULES, "probe.wat"), name="probe")
        with open(c) as f:
            lines = f.read().split("\n")
        at = lines.index("static bool s_module_initialized = false;") + 1
        lines.insert(at, "static int something_new = 3;")
        with open(c, "w") as f:
            f.write("\n".join(lines))
        proc = self.run_splitter(c, h, os.path.join(self.dir, "out"), 2)
        self.assertEqual(proc.returncode, 1)
        self.assertIn(f"line {at + 1}: unrecognised top-level item", proc.stderr)
        self.assertIn("something_new", proc.stderr)

    def test_fails_when_a_function_body_reads_memory_data(self):
        c, h = self.wasm2c(wat_file=os.path.join(MODULES, "probe.wat"), name="probe")
        with open(c) as f:
            text = f.read()
        needle = "w2c_i0 = instance->w2c_memory.pages;"
        self.assertIn(needle, text)
        with open(c, "w") as f:
            f.write(text.replace(needle, "w2c_i0 = instance->w2c_memory.data[0];", 1))
        proc = self.run_splitter(c, h, os.path.join(self.dir, "out"), 2)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("reads w2c_memory.data directly", proc.stderr)

    def test_refuses_a_module_that_imports_its_memory(self):
        c, h = self.wasm2c(wat_text=IMPORTED_MEMORY_WAT, name="imp")
        proc = self.run_splitter(c, h, os.path.join(self.dir, "out"), 2)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("imports a linear memory (Z_envZ_memory)", proc.stderr)

    def test_refuses_a_non_empty_output_directory(self):
        c, h = self.wasm2c(wat_file=os.path.join(MODULES, "second.wat"), name="second")
        out = os.path.join(self.dir, "out")
        os.mkdir(out)
        with open(os.path.join(out, "stale.c"), "w") as f:
            f.write("")
        proc = self.run_splitter(c, h, out, 2)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("is not empty", proc.stderr)

    def test_atomic_globals_are_read_with_relaxed_atomic_loads(self):
        wat = """(module
  (memory (export "memory") 1)
  (global $flag (export "flag") (mut i32) (i32.const 0))
  (func (export "spin") (param i32) (result i32)
    (loop $l
      (br_if $l (i32.eqz (global.get $flag))))
    (local.get 0)))"""
        c, h = self.wasm2c(wat_text=wat, name="spin")
        out = os.path.join(self.dir, "out")
        proc = subprocess.run([sys.executable, SPLITTER, "--input-c", c, "--input-h", h,
                               "--output-dir", out, "--parts", "2", "--atomic-global", "flag"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(os.path.join(out, "spin_part01.c")) as f:
            unit = f.read()
        self.assertIn("__atomic_load_n(&instance->w2c_flag, __ATOMIC_RELAXED)", unit)
        self.assertNotRegex(unit, r"= instance->w2c_flag;")
        # A name the functions never read is a loud error, not a silent no-op.
        out2 = os.path.join(self.dir, "out2")
        proc = subprocess.run([sys.executable, SPLITTER, "--input-c", c, "--input-h", h,
                               "--output-dir", out2, "--parts", "2", "--atomic-global", "nope"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("--atomic-global nope: no read of instance->w2c_nope found", proc.stderr)

    def test_partition_minimises_the_largest_contiguous_run(self):
        runs = split_wasm2c_output.partition([5, 1, 1, 1, 1, 1, 5], 3)
        self.assertEqual(runs, [[0], [1, 2, 3, 4, 5], [6]])
        runs = split_wasm2c_output.partition([10, 1, 1], 4)
        self.assertEqual(runs, [[0], [1, 2], [], []])
        self.assertEqual(split_wasm2c_output.partition([], 2), [[], []])


if __name__ == "__main__":
    unittest.main()
