#!/usr/bin/env bash
# Relinks the guest interpreter with numpy built in.
#
# Usage: guest/link-numpy.sh CPYTHON_TREE NUMPY_OUT OUT_WASM
#   CPYTHON_TREE  the python3.11 tree build-guest.sh built (python/, with build/);
#   NUMPY_OUT     build-numpy.sh's OUT_DIR (libnumpy.a, numpy_inittab.h).
# Recompiles Programs/python.c from guest/snakecage_main.c with
# -DSNAKECAGE_WITH_NUMPY (which includes numpy_inittab.h) and relinks
# python.wasm through CPython's own Makefile rule, with libnumpy.a, wasm32's
# libc++/libc++abi (numpy's sorting, umath and linalg have C++ sources) and
# wasi-libc's long-double printf (numpy formats np.longdouble with %Lg).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tree=$(realpath "${1:?usage: link-numpy.sh CPYTHON_TREE NUMPY_OUT OUT_WASM}")
numpy_out=$(realpath "${2:?NUMPY_OUT missing}")
out_wasm=${3:?OUT_WASM missing}

cp "$here/snakecage_main.c" "$tree/Programs/python.c"
rm -f "$tree/build/Programs/python.o" "$tree/build/python.wasm"
make -C "$tree/build" python.wasm \
  CFLAGS_NODIST="-DSNAKECAGE_WITH_NUMPY -I$numpy_out" \
  SYSLIBS="$numpy_out/libnumpy.a -lc++ -lc++abi -lc-printscan-long-double -lm"
cp "$tree/build/python.wasm" "$out_wasm"
