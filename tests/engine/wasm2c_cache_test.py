#!/usr/bin/env python3
"""ctest engine.wasm2c_cache_and_profile: the wasm2c build cache and the
profile modes of snakecage_add_wasm2c_library(), on tests/engine/standalone.

Each step configures the standalone project in a fresh build directory with
a private cache directory and a wasm2c wrapper that logs every translation:
  1. cold: wasm2c runs once, the program prints the expected result;
  2. a second fresh build directory: wasm2c does not run ("cache hit");
  3. PROFILE_GENERATE: reuses the generated C, the instrumented program writes
     a profile that names the module's (hidden, module-prefixed) functions;
  4. PROFILE_USE with the merged profile: reuses the generated C, the library
     differs from the plain one, the result is the same;
  5. a failing wasm2c leaves nothing in the cache.
Exits non-zero with a message on the first check that fails.
"""

import argparse
import glob
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile


def collatz_total(n):
    total = 0
    for i in range(1, n + 1):
        x = i
        while x > 1:
            x = x * 3 + 1 if x & 1 else x >> 1
            total += 1
    return total


EXPECTED = f"collatz_total(10000) = {collatz_total(10000)}\n"


class Check(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Check(what)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--cmake", required=True)
    ap.add_argument("--c-compiler", required=True)
    ap.add_argument("--cxx-compiler", required=True)
    ap.add_argument("--wasm2c", required=True)
    ap.add_argument("--llvm-profdata", required=True)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="snakecage-wasm2c-cache-test.")
    cache = os.path.join(tmp, "cache")
    log = os.path.join(tmp, "wasm2c-calls.log")
    open(log, "w").close()

    def wrapper(name, body):
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + body)
        os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
        return path

    counting = wrapper("wasm2c-counting",
                       f'[ "$1" = "--version" ] || echo "$@" >> "{log}"\n'
                       f'exec "{args.wasm2c}" "$@"\n')
    failing = wrapper("wasm2c-failing",
                      f'[ "$1" = "--version" ] && exec "{args.wasm2c}" --version\n'
                      'echo "wasm2c-failing: refusing on purpose" >&2\nexit 3\n')

    def translations():
        with open(log) as f:
            return len(f.read().splitlines())

    def build(name, extra=(), wasm2c=counting, expect_ok=True):
        bdir = os.path.join(tmp, name)
        cfg = subprocess.run(
            [args.cmake, "-S", os.path.join(args.source_dir, "tests", "engine", "standalone"),
             "-B", bdir, "-G", "Ninja", f"-DCMAKE_C_COMPILER={args.c_compiler}",
             f"-DSNAKECAGE_SOURCE_DIR={args.source_dir}", f"-DSNAKECAGE_CACHE_DIR={cache}",
             f"-DSNAKECAGE_WASM2C={wasm2c}", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        check(cfg.returncode == 0, f"configure {name} failed:\n{cfg.stdout}")
        b = subprocess.run([args.cmake, "--build", bdir, "-j2"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if expect_ok:
            check(b.returncode == 0, f"build {name} failed:\n{b.stdout}")
        else:
            check(b.returncode != 0, f"build {name} should have failed:\n{b.stdout}")
        return bdir, b.stdout

    def run(bdir, env=None):
        p = subprocess.run([os.path.join(bdir, "standalone_main")], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=env)
        check(p.returncode == 0, f"{bdir}/standalone_main exited {p.returncode}: {p.stderr}")
        check(p.stdout == EXPECTED, f"{bdir}/standalone_main printed {p.stdout!r}, "
                                    f"expected {EXPECTED!r}")

    def entries(kind):
        d = os.path.join(cache, kind)
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def library(bdir):
        with open(os.path.join(bdir, "loop_module", "libloop_module.a"), "rb") as f:
            return f.read()

    try:
        # 1. Cold cache.
        b1, out = build("b1")
        check(translations() == 1, f"cold build: {translations()} wasm2c runs, expected 1")
        check("pgo_probe: generated and compiled" in out, f"cold build output:\n{out}")
        run(b1)
        check(len(entries("generated")) == 1 and len(entries("lib")) == 1,
              f"cache after cold build: {entries('generated')} {entries('lib')}")

        # 2. A new build directory reuses everything.
        b2, out = build("b2")
        check(translations() == 1, f"second build dir ran wasm2c ({translations()} runs)")
        check("pgo_probe: cache hit" in out, f"second build output:\n{out}")
        run(b2)
        check(library(b1) == library(b2), "cached library differs from the built one")

        # 3. Instrumented build: same generated C, new library.
        b3, out = build("b3", ["-DSTANDALONE_PROFILE_GENERATE=ON"])
        check(translations() == 1, "PROFILE_GENERATE re-ran wasm2c")
        check("pgo_probe: compiled (generated C from cache)" in out, f"b3 output:\n{out}")
        profiles = os.path.join(tmp, "profiles")
        os.mkdir(profiles)
        env = dict(os.environ, LLVM_PROFILE_FILE=os.path.join(profiles, "run-%p.profraw"))
        run(b3, env)
        raw = glob.glob(os.path.join(profiles, "*.profraw"))
        check(len(raw) == 1 and os.path.getsize(raw[0]) > 0, f"profraw files: {raw}")
        merged = os.path.join(tmp, "merged.profdata")
        subprocess.run([args.llvm_profdata, "merge", "-o", merged, *raw], check=True)
        shown = subprocess.run([args.llvm_profdata, "show", "--all-functions", "--counts", merged],
                               stdout=subprocess.PIPE, text=True, check=True).stdout
        # collatz_total is small enough to be defined static inline in the
        # private header (--inline-max-bytes), so its profile name is the
        # including unit's file name and its C name.
        check("pgo_probe_part00.c:w2c_collatz_total" in shown,
              f"profile does not name the module's functions:\n{shown[:2000]}")

        # 4. Optimised with the profile.
        b4, out = build("b4", [f"-DSTANDALONE_PROFILE_USE={merged}"])
        check(translations() == 1, "PROFILE_USE re-ran wasm2c")
        check("pgo_probe: compiled (generated C from cache)" in out, f"b4 output:\n{out}")
        run(b4)
        check(library(b4) != library(b1), "PROFILE_USE library is identical to the plain one")
        infos = []
        for key in entries("lib"):
            with open(os.path.join(cache, "lib", key, "info.json")) as f:
                infos.append(json.load(f))
        check(len(infos) == 3, f"{len(infos)} library entries, expected 3")
        check(any(f"-fprofile-instr-use={merged}" in i["flags"] for i in infos),
              f"no entry built with the profile: {[i['flags'] for i in infos]}")
        check(any("-fprofile-instr-generate" in i["flags"] for i in infos),
              "no instrumented entry")

        # 5. A failing step leaves no partial entry behind.
        before = (entries("generated"), entries("lib"))
        _, out = build("b5", wasm2c=failing, expect_ok=False)
        check("refusing on purpose" in out, f"failing build output:\n{out}")
        check((entries("generated"), entries("lib")) == before,
              "a failed build changed the cache entries")
        check(entries("tmp") == [], f"temporary files left in the cache: {entries('tmp')}")
    except Check as e:
        print(f"FAILED: {e}\n(temporary directory: {tmp})", file=sys.stderr)
        return 1
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    print("wasm2c cache and profile checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
