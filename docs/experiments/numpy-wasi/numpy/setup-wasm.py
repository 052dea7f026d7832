#!/usr/bin/python3.11
"""Runs numpy's setup.py on the host Python as if it built for wasm32-wasi.

numpy.distutils asks the running interpreter about the target in two ways
that a compiler wrapper (wasm-cc.py) cannot answer:
  * sysconfig.get_config_var("SIZEOF_SIZE_T") decides whether the bundled
    lapack_lite is built with 64-bit integers (numpy/linalg/setup.py): it
    must say 4 on wasm32;
  * sysconfig.get_platform() decides whether x86 attributes (AVX, SVML) are
    probed and linked (numpy/core/setup.py): it must not say x86_64.
This launcher answers both from the wasm CPython build (pyconfig.h's
SIZEOF_* values, platform "wasi-wasm32") and then runs setup.py.

Usage: setup-wasm.py PYCONFIG_H setup.py ARGS...
"""
import re
import runpy
import sys
import sysconfig

pyconfig, setup_py, *args = sys.argv[1:]
wasm_vars = {}
with open(pyconfig) as f:
    for line in f:
        m = re.match(r"#define (SIZEOF_\w+|ALIGNOF_\w+) (\d+)\s*$", line)
        if m:
            wasm_vars[m.group(1)] = int(m.group(2))
if wasm_vars.get("SIZEOF_SIZE_T") != 4:
    sys.exit(f"{pyconfig} is not a wasm32 pyconfig.h")
sysconfig.get_config_vars().update(wasm_vars)
sysconfig.get_platform = lambda: "wasi-wasm32"

sys.argv = [setup_py, *args]
sys.path.insert(0, ".")
runpy.run_path(setup_py, run_name="__main__")
