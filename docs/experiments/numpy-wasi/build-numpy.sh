#!/usr/bin/env bash
# Builds numpy (Debian's numpy source package, 1:1.24.2-1+deb12u1) for the
# wasm32-wasi guest: its C and Cython extension modules as one static
# archive to link into python.wasm, and its Python package tree.
#
# Usage: guest/build-numpy.sh [--with-tests] NUMPY_SRC CPYTHON_TREE OUT_DIR
#   NUMPY_SRC     numpy unpacked with Debian's patches (dpkg-source -x); only read.
#   CPYTHON_TREE  the python3.11 source tree build-guest.sh configured and built,
#                 with its wasm build in CPYTHON_TREE/build (pyconfig.h).
#   OUT_DIR gets
#     libnumpy.a          every extension module's objects and numpy's static
#                         libraries (npymath, npyrandom), for wasm32-wasi;
#     numpy-builtins.tsv  one line per extension: dotted module name, init function;
#     numpy_inittab.h     the same as a C table for guest/snakecage_main.c;
#     site-packages/      numpy's Python package, byte-compiled (tests only with
#                         --with-tests), for a directory on the guest's sys.path;
#     build.log.
#
# numpy.distutils (numpy's setup.py) does the build, run on the host's
# python3.11 through setup-wasm.py, with numpy/wasm-cc.py as its compiler:
# see guest/REPORT.md for why and for every flag.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

with_tests=0 incremental=0
while [ $# -gt 0 ]; do
  case $1 in
    --with-tests) with_tests=1; shift ;;
    --incremental) incremental=1; shift ;;  # reuse OUT_DIR/work (while developing)
    *) break ;;
  esac
done
src=$(realpath "${1:?usage: build-numpy.sh [--with-tests] NUMPY_SRC CPYTHON_TREE OUT_DIR}")
pytree=$(realpath "${2:?CPYTHON_TREE missing}")
mkdir -p "${3:?OUT_DIR missing}"
out=$(realpath "$3")
jobs=${SNAKECAGE_JOBS:-2}
HOST_PYTHON=/usr/bin/python3.11

[ -f "$pytree/build/pyconfig.h" ] || { echo "no $pytree/build/pyconfig.h" >&2; exit 1; }
[ -f "$src/numpy/version.py" ] || { echo "$src is not a numpy source tree" >&2; exit 1; }
$HOST_PYTHON -c 'import Cython' 2>/dev/null || { echo "host python3.11 needs cython3" >&2; exit 1; }

work="$out/work"
[ $incremental = 1 ] && [ -d "$work/numpy" ] || rm -rf "$work"
rm -rf "$out/site-packages" "$out/libnumpy.a"
mkdir -p "$work/bin"
log="$out/build.log"
: >"$log"

# numpy.distutils replaces only the first word of CC with CXX's first word
# for C++ sources, so each compiler is one executable.
printf '#!/bin/sh\nexec %s %s "$@"\n' "$HOST_PYTHON" "$here/numpy/wasm-cc.py" >"$work/bin/wasm-cc"
printf '#!/bin/sh\nexec %s %s --cxx "$@"\n' "$HOST_PYTHON" "$here/numpy/wasm-cc.py" >"$work/bin/wasm-cxx"
chmod +x "$work/bin/wasm-cc" "$work/bin/wasm-cxx"

# A private copy of the sources: the build writes generated files beside them.
if [ ! -d "$work/numpy" ]; then
  cp -a "$src" "$work/numpy.tmp"
  for p in "$here"/numpy/patches/*.patch; do
    patch -d "$work/numpy.tmp" -p1 --no-backup-if-mismatch -s <"$p"
  done
  mv "$work/numpy.tmp" "$work/numpy"
fi

start=$(date +%s)
(
  cd "$work/numpy"
  export SNAKECAGE_PY_SRC="$pytree" SNAKECAGE_PY_BUILD="$pytree/build"
  export SNAKECAGE_CC_LOG="$work/cc.jsonl"
  # -DNPY_NO_SIGNAL, -D__NPY_PRIVATE_NO_SIGNAL: no SIGINT handling in
  # numpy's long loops (wasi-libc has no setjmp.h and no signals); the
  # switches numpy itself uses on platforms without them (Windows).
  export SNAKECAGE_WASM_CFLAGS="-O2 -g0 -DNPY_NO_SIGNAL -D__NPY_PRIVATE_NO_SIGNAL"
  export CC="$work/bin/wasm-cc" CXX="$work/bin/wasm-cxx" LDSHARED="$work/bin/wasm-cc -shared"
  export AR=llvm-ar-19 ARFLAGS=rcsD LDFLAGS= CFLAGS= CPPFLAGS=
  # No BLAS/LAPACK from the host: numpy's bundled f2c'd lapack_lite instead.
  export BLAS=None LAPACK=None ATLAS=None NPY_BLAS_ORDER= NPY_LAPACK_ORDER=
  # SVML is x86_64 AVX-512 code.
  export NPY_DISABLE_SVML=1 _PYTHON_HOST_PLATFORM=wasi-wasm32
  export SETUPTOOLS_USE_DISTUTILS=stdlib
  export SOURCE_DATE_EPOCH=$(dpkg-parsechangelog -l debian/changelog -STimestamp)
  # --disable-optimization: no SIMD baseline and no runtime dispatch
  # (NPY_DISABLE_OPTIMIZATION); wasm32's SIMD128 is not one of numpy
  # 1.24's targets.
  $HOST_PYTHON "$here/numpy/setup-wasm.py" "$pytree/build/pyconfig.h" setup.py \
    build -j "$jobs" --disable-optimization
  # Installs the Python files and the package data (tests/data, ...) that
  # build_py does not copy into build/lib, into a private root.
  rm -rf "$work/root"
  $HOST_PYTHON "$here/numpy/setup-wasm.py" "$pytree/build/pyconfig.h" setup.py \
    install --skip-build --no-compile --single-version-externally-managed \
    --root="$work/root" --prefix=/usr/local --install-lib=/site-packages \
    --install-scripts=/bin --install-data=/data --install-headers=/include
) >>"$log" 2>&1 || { tail -n 40 "$log" >&2; echo "numpy build failed (log: $log)" >&2; exit 1; }
echo "numpy compile: $(( $(date +%s) - start ))s" >>"$log"

libdir=$(ls -d "$work"/numpy/build/lib.*)
$HOST_PYTHON "$here/numpy/collect-numpy.py" "$libdir" "$work/objs" "$out" "$work/cc.jsonl" >>"$log" 2>&1 \
  || { tail -n 20 "$log" >&2; exit 1; }

# The Python package as numpy installs it, without the extension manifests
# (named *.so), C sources, headers and static libraries the guest cannot use.
mkdir -p "$out/site-packages"
(cd "$work/root/site-packages" && tar -c --exclude='*.so' --exclude='*.c' --exclude='*.pyx' \
   --exclude='*.pxd' --exclude='*.h' --exclude='*.a' --exclude='numpy/core/include' \
   --exclude='numpy/core/lib' --exclude='numpy/random/lib' --exclude='numpy/f2py/src' \
   $( [ $with_tests = 1 ] || echo "--exclude=tests" ) numpy numpy-*.egg-info) \
  | tar -x -C "$out/site-packages"
# Reproducible byte code: fixed source mtimes, unchecked-hash .pyc files
# (the guest's site-packages is read-only), guest paths in co_filename.
epoch=$(dpkg-parsechangelog -l "$src/debian/changelog" -STimestamp)
find "$out/site-packages" -exec touch -h -d "@$epoch" {} +
$HOST_PYTHON -m compileall -q -j "$jobs" --invalidation-mode unchecked-hash \
  -s "$out/site-packages" -p /usr/local/lib/python3.11/site-packages \
  "$out/site-packages" >>"$log" 2>&1
echo "numpy built into $out"
