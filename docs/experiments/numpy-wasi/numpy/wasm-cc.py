#!/usr/bin/python3.11
"""Compiler wrapper that lets numpy.distutils (running natively on the host
Python 3.11) build numpy for wasm32-wasi.

numpy.distutils knows numpy's sources, its templated and generated files and
its configuration probes; it does not know how to cross-compile. This
wrapper is given to it as CC, CXX, LDSHARED and the linker, and

  * compiles (-c) and links executables (numpy's configuration probes) with
    clang-19 --target=wasm32-wasi, after removing the host Python's flags
    that mean nothing or the wrong thing for wasm32 (-fPIC, x86 hardening,
    the host's include and library directories) and pointing the Python
    include directory at the wasm CPython build tree: every probe therefore
    answers for wasm32 (sizeof(long) == 4, IEEE quad long double, which
    libm functions wasi-libc has);
  * does not link extension modules (-shared; wasm32-wasi has no shared
    libraries): it writes, in place of the .so, a JSON manifest of the
    objects and libraries that would have been linked. build-numpy.sh turns
    the manifests into one static archive.

Environment: SNAKECAGE_PY_SRC (CPython source tree), SNAKECAGE_PY_BUILD
(its wasm build directory, with pyconfig.h), SNAKECAGE_WASM_CFLAGS,
SNAKECAGE_WASM_CC / SNAKECAGE_WASM_CXX, SNAKECAGE_CC_LOG (optional).
Invoked as wasm-cc.py (C) or with --cxx as the first argument (C++).
"""
import json
import os
import subprocess
import sys

args = sys.argv[1:]
cxx = bool(args) and args[0] == "--cxx"
if cxx:
    args = args[1:]

py_src = os.environ["SNAKECAGE_PY_SRC"]
py_build = os.environ["SNAKECAGE_PY_BUILD"]
target = ["--target=wasm32-wasi", "--sysroot=/usr"]
extra = os.environ.get("SNAKECAGE_WASM_CFLAGS", "-O2 -g0").split()
compiler = os.environ.get("SNAKECAGE_WASM_CXX" if cxx else "SNAKECAGE_WASM_CC",
                          "clang++-19" if cxx else "clang-19")

# Host flags (from the host Python's sysconfig) that must not reach clang
# for wasm32: position-independent code (no shared libraries here), x86 and
# glibc hardening, debug info (-g0 is added), threads, LTO.
DROP_EXACT = {"-fPIC", "-fpic", "-pthread", "-g", "-m64", "-ffat-lto-objects",
              "-Wl,-z,relro", "-Wl,-Bsymbolic-functions", "-Wl,-O1", "-Wl,-z,now",
              "-fno-semantic-interposition", "-Wl,--as-needed"}
DROP_PREFIX = ("-fstack-protector", "-fstack-clash-protection", "-fcf-protection",
               "-D_FORTIFY_SOURCE", "-flto", "-g", "-march", "-mtune",
               "-specs=", "-Wl,-z,", "-fdebug-prefix-map", "-ffile-prefix-map",
               "-fmacro-prefix-map")
# The host's include and library directories: with --sysroot=/usr they would
# shadow wasi-libc's headers with glibc's.
HOST_DIRS = ("/usr/include", "/usr/local/include", "/usr/lib", "/usr/local/lib", "/lib")


def is_host_dir(path):
    return any(path == d or path.startswith(d + "/") for d in HOST_DIRS)


out = []
i = 0
while i < len(args):
    a = args[i]
    if a in ("-I", "-L", "-isystem") and i + 1 < len(args):
        a, i = a + args[i + 1], i + 1
    i += 1
    if a in DROP_EXACT or a.startswith(DROP_PREFIX):
        continue
    if a.startswith("-I") or a.startswith("-isystem"):
        d = a[2:] if a.startswith("-I") else a[len("-isystem"):]
        if d.rstrip("/") in ("/usr/include/python3.11", "/usr/local/include/python3.11"):
            out += ["-I" + os.path.join(py_src, "Include"), "-I" + py_build]
            continue
        if is_host_dir(d):
            continue
    if a.startswith("-L") and is_host_dir(a[2:]):
        continue
    out.append(a)

log = os.environ.get("SNAKECAGE_CC_LOG")


def record(kind, argv):
    if log:
        with open(log, "a") as f:
            f.write(json.dumps({"kind": kind, "cwd": os.getcwd(), "argv": argv}) + "\n")


if "-shared" in out:
    # An extension module: write its manifest instead of linking.
    o = out[out.index("-o") + 1]
    objs, libs, libdirs = [], [], []
    for a in out:
        if a.endswith((".o", ".a")) and not a.startswith("-"):
            objs.append(os.path.abspath(a))
        elif a.startswith("-l"):
            libs.append(a[2:])
        elif a.startswith("-L"):
            libdirs.append(os.path.abspath(a[2:]))
    record("shared", out)
    with open(o, "w") as f:
        json.dump({"objects": objs, "libraries": libs, "library_dirs": libdirs}, f, indent=1)
    sys.exit(0)

argv = [compiler] + target + out + extra + ["-Wno-int-conversion"]
if cxx:
    # CPython 3.11's Include/cpython/pthread_stubs.h (included on WASI) uses
    # C's `restrict`, which C++ does not have.
    argv.append("-Drestrict=__restrict")
if "-c" not in out and "-E" not in out:
    # A configuration probe linked as an executable: wasi-libc's emulations
    # are available to it as they are to the real link.
    argv += ["-lwasi-emulated-signal", "-lwasi-emulated-process-clocks"]
record("compile" if "-c" in out or "-E" in out else "link", argv)
sys.exit(subprocess.call(argv))
