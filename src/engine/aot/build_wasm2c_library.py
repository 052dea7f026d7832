#!/usr/bin/env python3
"""Build (or fetch from the cache) the static library of one wasm2c module.

Called by the custom command of snakecage_add_wasm2c_library()
(Wasm2cLibrary.cmake). Steps, each cached outside the build tree:

  1. generated C: wasm2c <wasm> -n <module>, then split_wasm2c_output.py into
     --parts translation units. Cached in <cache>/generated/<key>/ where the
     key hashes the wasm bytes, wasm2c's version and binary, the splitter, this
     script, the module name and the part count.
  2. library: the parts compiled in parallel (--jobs) with --cc and --cflag,
     archived with --ar. Cached in <cache>/lib/<key>/ where the key adds the
     compiler's identity, the flags, the profile mode and profile data, and
     the headers the generated code includes (--key-file).

Each entry is built in <cache>/tmp/ and renamed into place, so an interrupted
build never leaves a half-written entry; a build that finds its entry already
present does no work. Results are copied into --out-dir (lib<name>.a and
include/<module>.h), again by rename.

The first line of output says "cache hit" or what was built, with timings.
Python 3 standard library only.
"""

import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

# Bump when the layout of cache entries or the meaning of the keys changes.
CACHE_FORMAT = "snakecage-wasm2c-cache-1"
STALE_TMP_SECONDS = 24 * 3600


class BuildError(Exception):
    pass


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def run(cmd, what):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise BuildError(f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n"
                         f"{proc.stdout}{proc.stderr}")
    return proc.stdout


def tool_identity(path, version_args=("--version",), hash_binary=False):
    """A string that changes when the tool changes."""
    resolved = shutil.which(path)
    if resolved is None:
        raise BuildError(f"tool not found: {path}")
    real = os.path.realpath(resolved)
    st = os.stat(real)
    version = run([resolved, *version_args], f"{path} {' '.join(version_args)}").strip()
    ident = {"path": real, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "version": version}
    if hash_binary:
        ident["sha256"] = sha256_file(real)
    return ident


def digest(obj):
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def clean_stale_tmp(tmp_root):
    now = time.time()
    try:
        entries = os.listdir(tmp_root)
    except FileNotFoundError:
        return
    for name in entries:
        path = os.path.join(tmp_root, name)
        try:
            if now - os.stat(path).st_mtime > STALE_TMP_SECONDS:
                shutil.rmtree(path, ignore_errors=True)
        except FileNotFoundError:
            pass


def publish(tmp_dir, final_dir):
    """Renames tmp_dir to final_dir; if another build got there first, keeps theirs."""
    os.makedirs(os.path.dirname(final_dir), exist_ok=True)
    try:
        os.rename(tmp_dir, final_dir)
    except OSError:
        if not os.path.isdir(final_dir):
            raise
        shutil.rmtree(tmp_dir, ignore_errors=True)


def generate(args, tmp_root, final_dir, timings):
    work = tempfile.mkdtemp(prefix="gen.", dir=tmp_root)
    try:
        raw = os.path.join(work, "raw")
        os.mkdir(raw)
        t0 = time.monotonic()
        run([args.wasm2c, args.wasm, "-n", args.module_name,
             "-o", os.path.join(raw, args.module_name + ".c")], "wasm2c")
        timings["wasm2c_s"] = round(time.monotonic() - t0, 3)
        t0 = time.monotonic()
        run([sys.executable, args.splitter,
             "--input-c", os.path.join(raw, args.module_name + ".c"),
             "--input-h", os.path.join(raw, args.module_name + ".h"),
             "--output-dir", os.path.join(work, "src"),
             "--parts", str(args.parts),
             "--inline-max-bytes", str(args.inline_max_bytes)]
            + [f"--atomic-global={g}" for g in args.atomic_global], "split_wasm2c_output.py")
        timings["split_s"] = round(time.monotonic() - t0, 3)
        shutil.rmtree(raw)
        publish(work, final_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def compile_library(args, src_dir, tmp_root, final_dir, timings):
    with open(os.path.join(src_dir, "parts.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    work = tempfile.mkdtemp(prefix="lib.", dir=tmp_root)
    try:
        flags = list(args.cflag)
        if args.profile_generate:
            flags.append("-fprofile-instr-generate")
        if args.profile_use:
            flags.append("-fprofile-instr-use=" + os.path.abspath(args.profile_use))
        parts = sorted(manifest["parts"], key=lambda p: -p["bytes"])  # longest first
        objects = []

        def compile_one(part):
            src = os.path.join(src_dir, part["file"])
            obj = os.path.join(work, part["file"][:-2] + ".o")
            t0 = time.monotonic()
            run([args.cc, *flags, "-I", src_dir, "-I", args.include_dir,
                 "-c", src, "-o", obj], f"compiling {part['file']}")
            return obj, round(time.monotonic() - t0, 3)

        t0 = time.monotonic()
        cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        per_part = {}
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futures = {pool.submit(compile_one, p): p["file"] for p in parts}
            for fut in concurrent.futures.as_completed(futures):
                obj, secs = fut.result()
                objects.append(obj)
                per_part[futures[fut]] = secs
        timings["compile_s"] = round(time.monotonic() - t0, 3)
        cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        timings["compile_cpu_s"] = round(cpu1.ru_utime + cpu1.ru_stime
                                         - cpu0.ru_utime - cpu0.ru_stime, 3)
        timings["compile_per_part_s"] = dict(sorted(per_part.items()))
        lib = os.path.join(work, "lib.a")
        run([args.ar, "rcsD", lib, *sorted(objects)], "ar")
        for obj in objects:
            os.remove(obj)
        os.mkdir(os.path.join(work, "include"))
        shutil.copy2(os.path.join(src_dir, manifest["public_header"]),
                     os.path.join(work, "include", args.module_name + ".h"))
        info = {"module": args.module_name, "parts": args.parts, "flags": flags,
                "timings": timings, "library_bytes": os.path.getsize(lib),
                "generated_source_bytes": sum(p["bytes"] for p in manifest["parts"])}
        with open(os.path.join(work, "info.json"), "w", encoding="utf-8") as f:
            json.dump(info, f, indent=2)
        publish(work, final_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def install_copy(src, dst):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    tmp = f"{dst}.tmp.{os.getpid()}"
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--wasm", required=True)
    ap.add_argument("--module-name", required=True)
    ap.add_argument("--lib-name", required=True, help="writes <out-dir>/lib<lib-name>.a")
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--parts", type=int, default=16)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--wasm2c", default="wasm2c")
    ap.add_argument("--cc", required=True)
    ap.add_argument("--ar", required=True)
    ap.add_argument("--splitter", required=True)
    ap.add_argument("--include-dir", required=True, help="root of engine/runtime/*.h")
    ap.add_argument("--key-file", action="append", default=[],
                    help="a header the generated code includes (hashed into the key)")
    ap.add_argument("--cflag", action="append", default=[])
    ap.add_argument("--atomic-global", action="append", default=[],
                    help="passed to the splitter: a global read atomically")
    ap.add_argument("--inline-max-bytes", type=int, default=0,
                    help="passed to the splitter: functions this small go to the header")
    ap.add_argument("--profile-generate", action="store_true")
    ap.add_argument("--profile-use", help="merged .profdata file")
    ap.add_argument("--cache-dir", required=True)
    args = ap.parse_args(argv)

    try:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", args.module_name):
            raise BuildError(f"--module-name {args.module_name!r} is not a C identifier")
        if args.parts < 1 or args.jobs < 1:
            raise BuildError("--parts and --jobs must be at least 1")
        if args.profile_generate and args.profile_use:
            raise BuildError("--profile-generate and --profile-use exclude each other")
        if args.profile_use and not os.path.isfile(args.profile_use):
            raise BuildError(f"--profile-use {args.profile_use}: no such file")
        if not os.path.isfile(args.wasm):
            raise BuildError(f"--wasm {args.wasm}: no such file")

        me = os.path.abspath(__file__)
        gen_key = digest({
            "format": CACHE_FORMAT,
            "wasm": sha256_file(args.wasm),
            "wasm2c": tool_identity(args.wasm2c, hash_binary=True),
            "splitter": sha256_file(args.splitter),
            "builder": sha256_file(me),
            "module": args.module_name,
            "parts": args.parts,
            "atomic_globals": args.atomic_global,
            "inline_max_bytes": args.inline_max_bytes,
        })
        lib_key = digest({
            "format": CACHE_FORMAT,
            "generated": gen_key,
            "cc": tool_identity(args.cc),
            "ar": tool_identity(args.ar),
            "cflags": args.cflag,
            "profile_generate": args.profile_generate,
            "profile_use": sha256_file(args.profile_use) if args.profile_use else None,
            "key_files": {os.path.basename(p) + ":" + str(i): sha256_file(p)
                          for i, p in enumerate(args.key_file)},
            "builder": sha256_file(me),
        })

        cache = os.path.abspath(args.cache_dir)
        tmp_root = os.path.join(cache, "tmp")
        os.makedirs(tmp_root, exist_ok=True)
        clean_stale_tmp(tmp_root)
        gen_dir = os.path.join(cache, "generated", gen_key)
        lib_dir = os.path.join(cache, "lib", lib_key)

        timings = {}
        if os.path.isdir(lib_dir):
            status = "cache hit"
        else:
            if os.path.isdir(gen_dir):
                status = "compiled (generated C from cache)"
            else:
                generate(args, tmp_root, gen_dir, timings)
                status = "generated and compiled"
            compile_library(args, os.path.join(gen_dir, "src"), tmp_root, lib_dir, timings)

        install_copy(os.path.join(lib_dir, "lib.a"),
                     os.path.join(args.out_dir, f"lib{args.lib_name}.a"))
        install_copy(os.path.join(lib_dir, "include", args.module_name + ".h"),
                     os.path.join(args.out_dir, "include", args.module_name + ".h"))
        print(f"snakecage wasm2c {args.module_name}: {status} "
              f"[{lib_key[:16]}] {json.dumps(timings) if timings else ''}".rstrip())
    except BuildError as e:
        print(f"build_wasm2c_library: {args.wasm}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
