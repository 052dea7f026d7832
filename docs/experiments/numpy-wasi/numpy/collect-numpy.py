#!/usr/bin/python3.11
"""Turns the extension manifests wasm-cc.py wrote (in place of numpy's .so
files) into one static archive and the table of built-in modules.

Usage: collect-numpy.py BUILD_LIB_DIR STAGING_DIR OUT_DIR CC_LOG
Writes OUT_DIR/libnumpy.a, OUT_DIR/numpy-builtins.tsv, OUT_DIR/numpy_inittab.h.

Each module's objects go into the archive under names prefixed with the
module's, so equal file names of different modules (several modules compile
numpy/linalg/lapack_lite/python_xerbla.c, for instance) stay distinct
members. The linker takes from an archive only the members that define a
symbol still undefined, so a source compiled into two modules is linked once.
The static libraries the modules name (npymath, npyrandom) are added once.

As separate shared objects numpy's extensions each had their own global
symbols; linked statically they share one namespace. Byte-identical objects
(lapack_lite's f2c sources are compiled for both linalg modules) are kept
once. Any other global symbol defined twice is an error unless it can be
renamed: a module whose objects define a symbol another module or library
also defines (numpy.random.mtrand compiles distributions.c again with
NP_RANDOM_LEGACY, where RAND_INT_TYPE is long, not int64_t) has its objects
recompiled, from the commands wasm-cc.py logged, with -DSYM=snakecage_MOD_SYM
for each such symbol, so its definitions and its own references move aside
together.
"""
import collections
import hashlib
import json
import os
import shutil
import subprocess
import sys

lib_dir, staging, out, cc_log = map(os.path.abspath, sys.argv[1:])
shutil.rmtree(staging, ignore_errors=True)
os.makedirs(staging)

modules = []          # (dotted name, init function)
members = []          # paths, in archive order
libraries = {}        # name -> path of the .a
origin = {}           # staged member -> the object numpy's build wrote
for root, dirs, files in os.walk(lib_dir):
    dirs.sort()
    for f in sorted(files):
        if not f.endswith(".so"):
            continue
        path = os.path.join(root, f)
        rel = os.path.relpath(path, lib_dir)
        name = rel[: -len(f)].replace(os.sep, ".") + f.split(".")[0]
        with open(path) as fh:
            manifest = json.load(fh)
        short = name.rsplit(".", 1)[-1]
        modules.append((name, "PyInit_" + short))
        mod_dir = os.path.join(staging, name)
        os.makedirs(mod_dir)
        for i, obj in enumerate(manifest["objects"]):
            if obj.endswith(".a"):
                libraries.setdefault(os.path.basename(obj)[3:-2], obj)
                continue
            dst = os.path.join(mod_dir, "%s__%03d_%s" % (name, i, os.path.basename(obj)))
            shutil.copyfile(obj, dst)
            members.append(dst)
            origin[dst] = os.path.normpath(obj)
        for lib in manifest["libraries"]:
            if lib in libraries or lib == "m":
                continue
            for d in manifest["library_dirs"]:
                cand = os.path.join(d, "lib%s.a" % lib)
                if os.path.exists(cand):
                    libraries[lib] = cand
                    break
            else:
                sys.exit("%s: library %s not found in %s" % (name, lib, manifest["library_dirs"]))

for lib, path in sorted(libraries.items()):
    d = os.path.join(staging, "lib" + lib)
    os.makedirs(d)
    names = subprocess.check_output(["llvm-ar-19", "t", path], text=True).split()
    if len(set(names)) != len(names):
        sys.exit("%s has members with equal names" % path)
    subprocess.check_call(["llvm-ar-19", "x", "--output", d, path])
    for n in names:
        dst = os.path.join(d, "lib%s__%s" % (lib, n))
        os.rename(os.path.join(d, n), dst)
        members.append(dst)

owner_of = {m: os.path.basename(os.path.dirname(m)) for m in members}


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# 1. Byte-identical members are kept once.
seen, kept = {}, []
for m in members:
    d = digest(m)
    if d in seen:
        print("same object as %s: %s" % (os.path.basename(seen[d]), os.path.basename(m)))
        os.remove(m)
        continue
    seen[d] = m
    kept.append(m)
members = kept


def defined_globals(path):
    out = subprocess.check_output(["llvm-nm-19", "--defined-only", "--extern-only", path], text=True)
    # Weak definitions (W, V) may repeat.
    return {l.split()[-1] for l in out.splitlines() if l.split() and l.split()[-2] not in "WVwv"}


def conflicts():
    where = collections.defaultdict(list)
    for m in members:
        for sym in defined_globals(m):
            where[sym].append(m)
    return {sym: ms for sym, ms in where.items() if len(ms) > 1}


# 2. Other duplicate definitions: rename them in the module that is not a
#    library (or in every module but the first).
to_rename = collections.defaultdict(set)   # owner -> symbols
for sym, ms in sorted(conflicts().items()):
    owners = sorted({owner_of[m] for m in ms}, key=lambda o: (not o.startswith("lib"), o))
    if len(owners) < len(ms):
        sys.exit("%s is defined twice within %s" % (sym, owners))
    for o in owners[1:]:
        if o.startswith("lib"):
            sys.exit("%s is defined by the libraries %s" % (sym, owners))
        to_rename[o].add(sym)

if to_rename:
    commands = {}
    with open(cc_log) as f:
        for line in f:
            rec = json.loads(line)
            argv = rec["argv"]
            if "-c" in argv and "-o" in argv:
                commands[os.path.normpath(os.path.join(rec["cwd"], argv[argv.index("-o") + 1]))] = rec
    for owner, syms in sorted(to_rename.items()):
        prefix = "snakecage_" + owner.replace(".", "_") + "_"
        print("%s: renaming %d symbols it shares with other modules: %s"
              % (owner, len(syms), " ".join(sorted(syms))))
        defines = ["-D%s=%s%s" % (s, prefix, s) for s in sorted(syms)]
        for m in members:
            if owner_of[m] != owner:
                continue
            rec = commands[origin[m]]
            argv = list(rec["argv"])
            o = argv.index("-o")
            argv[o + 1] = m
            argv[o:o] = defines
            subprocess.check_call(argv, cwd=rec["cwd"])
    left = conflicts()
    if left:
        sys.exit("still defined more than once: %s" % sorted(left))

archive = os.path.join(out, "libnumpy.a")
if os.path.exists(archive):
    os.remove(archive)
# D: deterministic (no timestamps, uids or modes in the archive).
subprocess.check_call(["llvm-ar-19", "rcsD", archive] + members)

with open(os.path.join(out, "numpy-builtins.tsv"), "w") as f:
    for name, init in modules:
        f.write("%s\t%s\n" % (name, init))
with open(os.path.join(out, "numpy_inittab.h"), "w") as f:
    f.write("/* Generated by guest/numpy/collect-numpy.py: numpy's extension modules,\n"
            " * linked into python.wasm from libnumpy.a. */\n")
    for name, init in modules:
        f.write("PyMODINIT_FUNC %s(void);\n" % init)
    f.write("#define SNAKECAGE_NUMPY_INITTAB \\\n")
    for name, init in modules:
        f.write('  {"%s", %s}, \\\n' % (name, init))
    f.write("\n")
print("%d modules, %d archive members, libraries: %s"
      % (len(modules), len(members), ", ".join(sorted(libraries))))
