#!/usr/bin/python3
"""CPython's own regression tests, inside the sandbox and natively.

Runs each test module of Lib/test, from the same Debian source the guest is
built from, twice: inside `snakecage run` (Lib/test read-only at /data) and
in Debian's native python3.11, with the same driver (unittest, verbosity 0).
Prints per module the tests run, failed (failures + errors) and skipped on
each side, and lists the tests that fail only in the sandbox.

  scripts/cpython-conformance.py [--snakecage BIN] [--source DIR]
                                 [--json OUT] [--jobs N] [MODULE ...]

--source is an extracted python3.11 source tree; without it the cached
Debian source (scripts/fetch-sources.sh) is extracted with dpkg-source into
a temporary directory. Exit status 0 whatever the tests did: the output is
the report (docs/cpython-conformance.md explains each sandbox-only failure).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# A broad set: the language, the data types, text, numbers, data formats,
# files and paths, time, introspection. Left out: modules about threads,
# processes, sockets, signals, ttys and the C API, which WASI or the policy
# rules out whole (docs/cpython-conformance.md).
MODULES = """
test_abc test_argparse test_array test_ast test_augassign test_base64 test_baseexception
test_binascii test_binop test_bisect test_bool test_builtin test_bytes test_bz2 test_calendar
test_class test_cmath test_codecs test_collections test_compare test_complex test_contains
test_contextlib test_copy test_csv test_dataclasses test_datetime test_decimal test_decorators
test_defaultdict test_deque test_descr test_dict test_difflib test_dis test_enum test_enumerate
test_exception_group test_exceptions test_float test_fnmatch test_format test_fractions
test_fstring test_funcattrs test_functools test_generators test_genexps test_glob test_grammar
test_gzip test_hashlib test_heapq test_hmac test_html test_htmlparser test_index test_inspect
test_int test_isinstance test_iter test_itertools test_json test_keywordonlyarg test_list
test_listcomps test_long test_lzma test_math test_memoryview test_opcodes test_operator
test_ordered_dict test_pathlib test_patma test_pickle test_pow test_pprint test_property
test_random test_range test_re test_reprlib test_richcmp test_scope test_secrets test_set
test_shutil test_slice test_sort test_sqlite3 test_statistics test_string test_string_literals
test_struct test_syntax test_tarfile test_tempfile test_textwrap test_time test_tokenize
test_tuple test_types test_typing test_unicode test_unicodedata test_unpack test_userdict
test_userlist test_userstring test_uuid test_weakref test_with test_xml_etree test_zipfile
test_zlib test_zoneinfo
""".split()

# The same in both places: load the module (its load_tests too), run it,
# print one JSON line.
DRIVER = r"""
import io, json, os, sys, tempfile, unittest
sys.path.insert(0, sys.argv[1])
# As regrtest does: work in a scratch directory (the workspace, in the
# sandbox), where the tests make their TESTFN files.
os.chdir(tempfile.mkdtemp())
name = sys.argv[2]
out = {"module": name, "run": 0, "failed": [], "skipped": 0, "error": None}
try:
    import test.support
    suite = unittest.defaultTestLoader.loadTestsFromName("test." + name)
    result = unittest.TextTestRunner(stream=io.StringIO(), verbosity=0).run(suite)
    out["run"] = result.testsRun
    out["failed"] = sorted(t.id() for t, _ in result.failures + result.errors)
    out["skipped"] = len(result.skipped)
except BaseException as e:  # the module could not even be loaded
    out["error"] = f"{type(e).__name__}: {e}"[:300]
sys.stdout.flush()
print("\n@@RESULT@@" + json.dumps(out))
"""


def extract_source(tmp: Path) -> Path:
    cache = Path(os.environ.get("SNAKECAGE_CACHE_DIR", Path.home() / ".cache/snakecage"))
    dscs = sorted(glob.glob(str(cache / "sources" / "python3.11_*.dsc")))
    if not dscs:
        sys.exit("no python3.11 source in the cache: run scripts/fetch-sources.sh first")
    subprocess.run(["dpkg-source", "--no-copy", "-x", dscs[-1], str(tmp / "python")],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return tmp / "python"


def parse(text: str, module: str, how: str) -> dict:
    for line in reversed(text.splitlines()):
        if line.startswith("@@RESULT@@"):
            return json.loads(line[len("@@RESULT@@"):])
    return {"module": module, "run": 0, "failed": [], "skipped": 0,
            "error": f"no result ({how})"}


def run_native(module: str, tests_root: Path, driver: Path) -> dict:
    try:
        p = subprocess.run(["/usr/bin/python3.11", "-I", str(driver), str(tests_root), module],
                           capture_output=True, text=True, timeout=600, cwd=tempfile.gettempdir())
    except subprocess.TimeoutExpired:
        return {"module": module, "run": 0, "failed": [], "skipped": 0, "error": "timeout"}
    return parse(p.stdout, module, f"exit {p.returncode}: {p.stderr[-300:]}")


def run_sandbox(module: str, tests_root: Path, driver: Path, snakecage: str) -> dict:
    cmd = [snakecage, "run", "--json", "--data", str(tests_root), "--fuel", str(2**62),
           "--memory", "1G", "--timeout", "600", "--stdout-max", "16M", "--stderr-max", "16M",
           str(driver), "--", "/data", module]
    with tempfile.TemporaryDirectory() as cwd:
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
    try:
        r = json.loads(p.stdout)
    except json.JSONDecodeError:
        return {"module": module, "run": 0, "failed": [], "skipped": 0,
                "error": f"snakecage exit {p.returncode}: {p.stderr[-300:]}"}
    out = parse(r["stdout"], module, f"trap {r['metadata']['trap_reason']}: "
                                     f"{r['stderr'][-300:]}")
    out["trap_reason"] = r["metadata"]["trap_reason"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--snakecage", default=str(REPO / "build/bin/snakecage"))
    ap.add_argument("--source")
    ap.add_argument("--json")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("modules", nargs="*")
    args = ap.parse_args()
    modules = args.modules or MODULES

    with tempfile.TemporaryDirectory(prefix="snakecage-conformance-") as tmp_name:
        tmp = Path(tmp_name)
        source = Path(args.source) if args.source else extract_source(tmp)
        # Only the test package, so that nothing else of the source shadows
        # the interpreter's own standard library on either side.
        tests_root = tmp / "tests"
        shutil.copytree(source / "Lib" / "test", tests_root / "test", symlinks=True)
        driver = tmp / "driver.py"
        driver.write_text(DRIVER)

        def both(module: str) -> tuple[dict, dict]:
            return (run_sandbox(module, tests_root, driver, args.snakecage),
                    run_native(module, tests_root, driver))

        rows = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            for module, (sandbox, native) in zip(modules, pool.map(both, modules)):
                only = sorted(set(sandbox["failed"]) - set(native["failed"]))
                rows.append({"module": module, "sandbox": sandbox, "native": native,
                             "sandbox_only_failures": only})
                print(f"{module:26} sandbox run {sandbox['run']:5} failed "
                      f"{len(sandbox['failed']):4} skipped {sandbox['skipped']:4}   native run "
                      f"{native['run']:5} failed {len(native['failed']):4} skipped "
                      f"{native['skipped']:4}"
                      + (f"   sandbox error: {sandbox['error']}" if sandbox["error"] else "")
                      + (f"   native error: {native['error']}" if native["error"] else ""),
                      flush=True)

    total = {side: {k: sum(len(r[side]["failed"]) if k == "failed" else r[side][k]
                           for r in rows) for k in ("run", "failed", "skipped")}
             for side in ("sandbox", "native")}
    print(f"{'TOTAL':26} sandbox run {total['sandbox']['run']:5} failed "
          f"{total['sandbox']['failed']:4} skipped {total['sandbox']['skipped']:4}   native run "
          f"{total['native']['run']:5} failed {total['native']['failed']:4} skipped "
          f"{total['native']['skipped']:4}")
    print("\nFailing only in the sandbox:")
    for r in rows:
        for t in r["sandbox_only_failures"]:
            print(f"  {t}")
        if r["sandbox"]["error"] and not r["native"]["error"]:
            print(f"  {r['module']}: {r['sandbox']['error']}")
    if args.json:
        Path(args.json).write_text(json.dumps({"modules": rows, "total": total}, indent=1))


if __name__ == "__main__":
    main()
