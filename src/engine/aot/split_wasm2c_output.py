#!/usr/bin/env python3
"""Split one wasm2c 1.0.32 output (.c + .h) into N translation units.

wasm2c writes a whole module as one C file. For CPython that is ~1.3 M lines,
which a C compiler cannot optimise as one unit in any reasonable time, and
WABT 1.0.32 has no --num-outputs option. This script does the split itself:

  <module>.h            wasm2c's public header, copied unchanged.
  <module>_internal.h   shared private header: wasm2c's prelude (macros and
                        static inline helpers), rewritten so that every access
                        to the module's own linear memory uses the constant
                        SNAKECAGE_LINEAR_MEMORY_BASE instead of `mem->data`,
                        plus declarations of every module function and every
                        shared table (func_types, data and element segments,
                        exception tags).
  <module>_part00.c     the "module unit": func_types, data and element
                        segments, init_* functions, the export accessors and
                        Z_<module>_init_module / _instantiate / _free.
  <module>_partNN.c     (NN = 1 .. N-1) the module's functions, cut into
                        contiguous runs of about equal size (contiguous, so
                        functions from the same guest source file stay
                        together and can still be inlined into each other).

With --inline-max-bytes B, every function whose C text is at most B bytes is
defined `static inline` in <module>_internal.h instead of going into a part,
so that every unit can inline it. Without it, a small hot function called
across a part boundary (PyThreadState_Get, _Py_Dealloc, PyMem_Free) costs a
real call wherever the cut happens to fall, and where the cuts fall moves with
every change to the module. A unit that takes such a function's address gets
its own copy, which is harmless: nothing compares function addresses.
In a fuel-metered module (src/fuel) a function's size is measured without
the metering code (size_without_fuel), so that both builds inline the same
functions.
  parts.json            the list of units with their sizes.

With N == 1 everything goes into <module>_part00.c.

Functions and shared tables lose `static`; they become hidden-visibility
externs whose link names carry the module name
(`snakecage_w2c_<module>__<c name>`), so two modules can be linked into one
program and nothing leaks out of a shared library.

The script knows the exact shape of wasm2c 1.0.32 output and fails (exit code
1, a message naming the line or snippet) when the input differs: a WABT
upgrade must not silently yield a build that is slow (helpers not rewritten)
or wrong (an item it does not understand).

Python 3 standard library only; it runs at build time.
"""

import argparse
import json
import os
import re
import sys

MODULE_INITIALIZED_LINE = "static bool s_module_initialized = false;"

# Exact snippets of wasm2c 1.0.32's little-endian prelude that touch linear
# memory, and what they become. Each must occur exactly once.
PRELUDE_REWRITES = [
    ("wasm_rt_memcpy(&result, &mem->data[addr], sizeof(t1));",
     "wasm_rt_memcpy(&result, &SNAKECAGE_LINEAR_MEMORY_BASE[addr], sizeof(t1));"),
    ("wasm_rt_memcpy(&mem->data[addr], &wrapped, sizeof(t1));",
     "wasm_rt_memcpy(&SNAKECAGE_LINEAR_MEMORY_BASE[addr], &wrapped, sizeof(t1));"),
    ("load_data(&(m.data[o]), i, s);",
     "load_data(&(SNAKECAGE_LINEAR_MEMORY_BASE[o]), i, s);"),
    ("memset(mem->data + d, val, n);",
     "memset(SNAKECAGE_LINEAR_MEMORY_BASE + d, val, n);"),
    ("memmove(dest->data + dest_addr, src->data + src_addr, n);",
     "memmove(SNAKECAGE_LINEAR_MEMORY_BASE + dest_addr,\n"
     "          SNAKECAGE_LINEAR_MEMORY_BASE + src_addr, n);"),
]

# Snippets that must be present unchanged: they are what makes the rewrite
# above sufficient (loads/stores have no bounds check of their own when the
# runtime's guard region catches faults, and all typed loads/stores go through
# DEFINE_LOAD/DEFINE_STORE).
PRELUDE_REQUIRED = [
    "#if WASM_RT_MEMCHECK_SIGNAL_HANDLER\n#define MEMCHECK(mem, a, t)\n#else",
    "DEFINE_LOAD(i32_load, u32, u32, u32)",
    "DEFINE_STORE(i64_store32, u32, u64)",
    "static inline void memory_fill(wasm_rt_memory_t* mem, u32 d, u32 val, u32 n) {",
    "static inline void memory_copy(wasm_rt_memory_t* dest,",
    "#if WASM_RT_USE_STACK_DEPTH_COUNT\n#define FUNC_PROLOGUE",
]

SHARED_OBJECT_PATTERNS = [
    # static u32 func_types[13];
    re.compile(r"^static (u32) (func_types)(\[\d+\]);$"),
    # static u32 w2c_e0;   (exception tag)
    re.compile(r"^static (u32) (w2c_[A-Za-z0-9_]+)();$"),
]
SHARED_ARRAY_PATTERNS = [
    # static const u8 data_segment_data_w2c_d0[] = {
    re.compile(r"^static (const u8) (data_segment_data_[A-Za-z0-9_]+)\[\] = \{$"),
    # static const wasm_elem_segment_expr_t elem_segment_exprs_w2c_e0[] = {
    re.compile(r"^static (const wasm_elem_segment_expr_t) "
               r"(elem_segment_exprs_[A-Za-z0-9_]+)\[\] = \{$"),
]
FUNC_DECL = re.compile(r"^static ([A-Za-z_][A-Za-z0-9_ *]*?) (w2c_[A-Za-z0-9_]+)\((.*)\);$")
FUNC_DEF = re.compile(r"^static ([A-Za-z_][A-Za-z0-9_ *]*?) (w2c_[A-Za-z0-9_]+)\((.*)\) \{$")
MODULE_STATIC_FUNCS = {
    "init_func_types", "init_tags", "init_globals", "init_memories",
    "init_data_instances", "init_tables", "init_elem_instances",
    "init_instance_import",
}
MODULE_STATIC_DEF = re.compile(r"^static void ([a-z_]+)\((.*)\) ?\{$")
EXPORT_COMMENT = re.compile(r"^/\* export: '.*' \*/$")


class SplitError(Exception):
    pass


def fail_at(lineno, line, why):
    raise SplitError(f"line {lineno}: {why}: {line[:160]!r}")


def parse_header(h_text, h_name):
    """Returns (module mangled name, name of the linear-memory member or None)."""
    m = re.search(r"^typedef struct Z_([A-Za-z0-9_]+)_instance_t \{$", h_text, re.M)
    if not m:
        raise SplitError(f"{h_name}: no 'typedef struct Z_<module>_instance_t {{' line")
    module = m.group(1)
    end = h_text.find("} Z_%s_instance_t;" % module, m.end())
    if end < 0:
        raise SplitError(f"{h_name}: instance struct of Z_{module}_instance_t not closed")
    body = h_text[m.end():end]
    imported = re.findall(r"wasm_rt_memory_t\s*\*\s*([A-Za-z0-9_]+);", body)
    if imported:
        raise SplitError(
            f"{h_name}: the module imports a linear memory ({', '.join(imported)}); only a "
            "module that defines its own memory can use the fixed linear-memory base")
    own = re.findall(r"^\s*wasm_rt_memory_t ([A-Za-z0-9_]+);$", body, re.M)
    if len(own) > 1:
        raise SplitError(f"{h_name}: the module defines {len(own)} memories ({', '.join(own)}); "
                         "the runtime supports one")
    return module, (own[0] if own else None)


def rewrite_prelude(prelude, h_basename):
    include = f'#include "{h_basename}"'
    if prelude.count(include) != 1:
        raise SplitError(f"prelude: expected exactly one '{include}'")
    for snippet in PRELUDE_REQUIRED:
        if prelude.count(snippet) != 1:
            raise SplitError(f"prelude: expected exactly one occurrence of {snippet!r}, "
                             f"found {prelude.count(snippet)} (not wasm2c 1.0.32 output?)")
    for old, new in PRELUDE_REWRITES:
        n = prelude.count(old)
        if n != 1:
            raise SplitError(f"prelude: expected exactly one occurrence of {old!r}, found {n} "
                             "(not wasm2c 1.0.32 output?)")
        prelude = prelude.replace(old, new)
    return prelude


def read_block(lines, start):
    """lines[start] opens a block at column 0; returns the index after its end."""
    i = start + 1
    while i < len(lines):
        line = lines[i]
        if line in ("}", "};"):
            return i + 1
        if line and not line[0].isspace() and not line.startswith("#"):
            fail_at(i + 1, line, f"unexpected column-0 line inside the block opened at line {start + 1}")
        i += 1
    fail_at(start + 1, lines[start], "block is never closed")


class Item:
    def __init__(self, kind, name, text):
        self.kind = kind    # 'module', 'function', 'shared_object', 'shared_array'
        self.name = name
        self.text = text


def join_header(lines, i):
    """wasm2c wraps long signatures onto indented continuation lines.

    Returns (the first line of the item with its continuations joined, index
    of the last physical line of that header).
    """
    text = lines[i]
    j = i
    while (not text.endswith(("{", ";", "}", "*/")) and j + 1 < len(lines)
           and lines[j + 1][:1].isspace() and lines[j + 1].strip()):
        j += 1
        text = text + lines[j].strip() if text.endswith(" ") else text + " " + lines[j].strip()
    return text, j


def parse_body(lines, first):
    """Parses the top-level items after the prelude."""
    items = []
    decls = {}      # name -> (return type, params)
    shared = []     # (c type, name, suffix) for the private header
    i = first
    while i < len(lines):
        if lines[i].strip() == "":
            i += 1
            continue
        line, last = join_header(lines, i)
        lineno = i + 1
        if line == MODULE_INITIALIZED_LINE:
            items.append(Item("module", "s_module_initialized", line + "\n"))
            i += 1
            continue
        m = None
        for pat in SHARED_OBJECT_PATTERNS:
            m = pat.match(line)
            if m:
                break
        if m:
            ctype, name, suffix = m.groups()
            shared.append((ctype, name, suffix))
            items.append(Item("shared_object", name, f"{ctype} {name}{suffix};\n"))
            i += 1
            continue
        m = FUNC_DECL.match(line)
        if m:
            ret, name, params = m.groups()
            if name in decls:
                fail_at(lineno, line, f"function {name} declared twice")
            decls[name] = (ret, params)
            i = last + 1
            continue
        for pat in SHARED_ARRAY_PATTERNS:
            m = pat.match(line)
            if m:
                break
        if m:
            ctype, name = m.groups()
            end = read_block(lines, i)
            shared.append((ctype, name, "[]"))
            text = "\n".join([line[len("static "):]] + lines[i + 1:end]) + "\n"
            items.append(Item("shared_array", name, text))
            i = end
            continue
        m = FUNC_DEF.match(line)
        if m:
            ret, name, params = m.groups()
            if name not in decls:
                fail_at(lineno, line, f"function {name} defined without a prior declaration")
            end = read_block(lines, last)
            text = "\n".join([lines[i][len("static "):]] + lines[i + 1:end]) + "\n"
            items.append(Item("function", name, text))
            i = end
            continue
        m = MODULE_STATIC_DEF.match(line)
        if m:
            if m.group(1) not in MODULE_STATIC_FUNCS:
                fail_at(lineno, line, f"unknown static function {m.group(1)}")
            end = read_block(lines, last)
            items.append(Item("module", m.group(1), "\n".join(lines[i:end]) + "\n"))
            i = end
            continue
        if EXPORT_COMMENT.match(line):
            if i + 1 >= len(lines):
                fail_at(lineno, line, "export comment at the end of the file")
            header, header_last = join_header(lines, i + 1)
            if not header.endswith("{") or header.startswith("static"):
                fail_at(lineno + 1, header, "export comment not followed by a non-static definition")
            end = read_block(lines, header_last)
            items.append(Item("module", "export", "\n".join(lines[i:end]) + "\n"))
            i = end
            continue
        if re.match(r"^void Z_[A-Za-z0-9_]+_(init_module|instantiate|free)\(.*\) \{$", line):
            end = read_block(lines, last)
            items.append(Item("module", "lifecycle", "\n".join(lines[i:end]) + "\n"))
            i = end
            continue
        fail_at(lineno, line, "unrecognised top-level item (not wasm2c 1.0.32 output?)")
    defined = {it.name for it in items if it.kind == "function"}
    missing = sorted(set(decls) - defined)
    if missing:
        raise SplitError(f"functions declared but never defined: {', '.join(missing[:10])}")
    return items, decls, shared


def partition(sizes, parts):
    """Cuts `sizes` into at most `parts` contiguous runs minimising the largest run.

    Returns a list of `parts` lists of indices (some may be empty).
    """
    if parts <= 0:
        raise SplitError("parts must be positive")
    if not sizes:
        return [[] for _ in range(parts)]

    def cuts_for(cap):
        runs, cur, total = [], [], 0
        for idx, s in enumerate(sizes):
            if cur and total + s > cap:
                runs.append(cur)
                cur, total = [], 0
            cur.append(idx)
            total += s
        runs.append(cur)
        return runs

    lo, hi = max(sizes), sum(sizes)
    while lo < hi:
        mid = (lo + hi) // 2
        if len(cuts_for(mid)) <= parts:
            hi = mid
        else:
            lo = mid + 1
    runs = cuts_for(lo)
    return runs + [[] for _ in range(parts - len(runs))]


def check_bodies(items, memory_member):
    if memory_member is None:
        return
    direct = re.compile(r"\b%s\s*(\.|->)\s*data\b" % re.escape(memory_member))
    for it in items:
        if it.kind == "function" and direct.search(it.text):
            raise SplitError(f"function {it.name} reads {memory_member}.data directly; "
                             "the splitter only rewrites the prelude's helpers")


def make_reads_atomic(items, names):
    """Turns every read of the instance globals `names` into a relaxed atomic
    load. WebAssembly has no atomic globals, so wasm2c reads them as plain
    fields, and the C compiler may hoist such a read out of a loop that
    neither stores nor calls; a flag another thread raises (the timeout's
    interrupt) would then never be seen. The guest only reads these globals."""
    for name in names:
        field = f"instance->w2c_{name}"
        read = re.compile(re.escape(field) + r"(?!\s*=[^=])")
        write = re.compile(re.escape(field) + r"\s*=[^=]")
        count = 0
        for it in items:
            # Only the module's functions; its initialiser sets the value.
            if it.kind != "function" or field not in it.text:
                continue
            if write.search(it.text):
                raise SplitError(f"--atomic-global {name}: the module writes it; only reads "
                                 "can be made atomic")
            it.text, n = read.subn(f"__atomic_load_n(&{field}, __ATOMIC_RELAXED)", it.text)
            count += n
        if count == 0:
            raise SplitError(f"--atomic-global {name}: no read of {field} found")


# The globals fuel metering adds (src/fuel/fuel_instrumenter.h) as wasm2c
# names them, and lines of a metered function that belong to the metering.
# Only a metered module has the exhausted flag, which only stop blocks set.
FUEL_EXHAUSTED_FIELD = "instance->w2c_snakecage_fuel_exhausted"
FUEL_GLOBALS_RE = re.compile(r"\bw2c_snakecage_(fuel|fuel_exhausted|interrupt)\b")
FUEL_CHARGE_CONST_RE = re.compile(r"w2c_j\d+ = \d+ull;")
FUEL_CHARGE_SUB_RE = re.compile(r"w2c_j\d+ -= w2c_j\d+;")
FUEL_RESULT_RE = re.compile(r"w2c_j\d+ = tmp\.j\d+;")
SIGNATURE_PARAMS_RE = re.compile(r"\(([^()]*)\) \{$")


def size_without_fuel(text):
    """The size of a metered function's C text without the code metering added.

    Metering makes CPython's functions' C about 1.7 times as long (a charge
    is four lines, a check six more), so a size threshold on the raw text
    would inline a third fewer functions in the metered build than in the
    unmetered one, and the metered interpreter would pay for that on top of
    its charges. Leaving out the lines that read or write the fuel (the
    function's last parameter, a u64), the fuel globals, the constant and the
    subtraction of each charge, the fuel result of each call and each check's
    stop block brings the text to about 1.1 times the unmetered function's.
    An estimate for a threshold: what it leaves out cannot change the code.
    """
    lines = text.split("\n")
    body = next((k + 1 for k, line in enumerate(lines) if line.endswith("{")), len(lines))
    signature = " ".join(line.strip() for line in lines[:body])
    m = SIGNATURE_PARAMS_RE.search(signature)
    last = m.group(1).split(",")[-1].split() if m else []
    if len(last) != 2 or last[0] != "u64":
        return len(text)
    fuel_re = re.compile(r"\b%s\b" % re.escape(last[1]))
    size, i = len(signature) + 1, body
    while i < len(lines):
        stripped = lines[i].strip()
        if stripped.startswith("if (") and stripped.endswith("{"):
            close = lines[i][:len(lines[i]) - len(lines[i].lstrip())] + "}"
            end = next((j for j in range(i + 1, len(lines)) if lines[j] == close), i)
            if any(FUEL_EXHAUSTED_FIELD in line for line in lines[i + 1:end]):
                i = end + 1   # a check's stop block
                continue
        if (FUEL_CHARGE_CONST_RE.fullmatch(stripped) and i + 1 < len(lines)
                and FUEL_CHARGE_SUB_RE.fullmatch(lines[i + 1].strip())):
            i += 1
        elif not (fuel_re.search(stripped) or FUEL_GLOBALS_RE.search(stripped)
                  or FUEL_RESULT_RE.fullmatch(stripped)):
            size += len(lines[i]) + 1
        i += 1
    return size


def split(c_path, h_path, out_dir, parts, atomic_globals=(), inline_max_bytes=0):
    h_basename = os.path.basename(h_path)
    with open(c_path, encoding="utf-8") as f:
        c_text = f.read()
    with open(h_path, encoding="utf-8") as f:
        h_text = f.read()
    if not c_text.startswith("/* Automatically generated by wasm2c */"):
        raise SplitError(f"{c_path}: does not start with wasm2c's banner")
    module, memory_member = parse_header(h_text, h_path)
    n_alloc = c_text.count("wasm_rt_allocate_memory(")
    if n_alloc != (1 if memory_member else 0):
        raise SplitError(f"{c_path}: {n_alloc} calls of wasm_rt_allocate_memory, expected "
                         f"{1 if memory_member else 0}")

    lines = c_text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    try:
        first = lines.index(MODULE_INITIALIZED_LINE)
    except ValueError:
        raise SplitError(f"{c_path}: no line {MODULE_INITIALIZED_LINE!r} ending the prelude")
    prelude = rewrite_prelude("\n".join(lines[:first]) + "\n", h_basename)
    items, decls, shared = parse_body(lines, first)
    check_bodies(items, memory_member)
    make_reads_atomic(items, atomic_globals)

    stem = os.path.splitext(h_basename)[0]
    internal_name = f"{stem}_internal.h"
    guard = re.sub(r"[^A-Za-z0-9]", "_", internal_name).upper() + "_"

    def link_name(cname):
        return f"snakecage_w2c_{module}__{cname}"

    hdr = [
        f"/* {internal_name}: private header shared by the translation units of wasm2c",
        f"   module '{module}'. Generated by split_wasm2c_output.py; do not edit.",
        "   The prelude below is wasm2c's, except that loads, stores and bulk memory",
        "   operations address the module's linear memory at the constant",
        "   SNAKECAGE_LINEAR_MEMORY_BASE. */",
        f"#ifndef {guard}",
        f"#define {guard}",
        "",
        '#include "engine/runtime/linear_memory_layout.h"',
        "",
        prelude.rstrip("\n"),
        "",
        "#if WABT_BIG_ENDIAN",
        '#error "snakecage: the linear-memory rewrite assumes a little-endian host"',
        "#endif",
        "#if !WASM_RT_MEMCHECK_SIGNAL_HANDLER || WASM_RT_USE_STACK_DEPTH_COUNT",
        '#error "snakecage: generated code relies on the runtime\'s guard region and signal handler"',
        "#endif",
        "",
        '#define SNAKECAGE_W2C_INTERNAL __attribute__((visibility("hidden")))',
        "",
    ]
    for ctype, name, suffix in shared:
        hdr.append(f'SNAKECAGE_W2C_INTERNAL extern {ctype} {name}{suffix} __asm__("{link_name(name)}");')
    hdr.append("")
    functions = [it for it in items if it.kind == "function"]
    metered = FUEL_EXHAUSTED_FIELD in c_text
    inline = [f for f in functions
              if (size_without_fuel(f.text) if metered else len(f.text)) <= inline_max_bytes]
    inline_names = {f.name for f in inline}
    for it in functions:
        ret, params = decls[it.name]
        if it.name in inline_names:
            hdr.append(f"static {ret} {it.name}({params});")
        else:
            hdr.append(f'SNAKECAGE_W2C_INTERNAL {ret} {it.name}({params}) __asm__("{link_name(it.name)}");')
    if inline:
        hdr += ["", "/* Small functions, defined in every unit so that every unit can inline them. */"]
        hdr += ["static inline " + f.text for f in inline]
    hdr += ["", f"#endif  /* {guard} */", ""]

    functions = [f for f in functions if f.name not in inline_names]
    module_items = [it for it in items if it.kind != "function"]
    if parts == 1:
        runs = [list(range(len(functions)))]
    else:
        runs = [[]] + partition([len(f.text) for f in functions], parts - 1)

    os.makedirs(out_dir, exist_ok=True)
    if os.listdir(out_dir):
        raise SplitError(f"output directory {out_dir} is not empty")

    def write(name, text):
        with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
            f.write(text)

    write(h_basename, h_text)
    write(internal_name, "\n".join(hdr))
    manifest = {"module": module, "public_header": h_basename,
                "internal_header": internal_name, "inline_functions": len(inline),
                "parts": []}
    for p, run in enumerate(runs):
        body = [f"/* Part {p} of {parts} of wasm2c module '{module}'. Generated; do not edit. */",
                f'#include "{internal_name}"', ""]
        if p == 0:
            body += [it.text for it in module_items]
        body += [functions[idx].text for idx in run]
        name = f"{stem}_part{p:02d}.c"
        text = "\n".join(body)
        write(name, text)
        manifest["parts"].append({"file": name, "bytes": len(text),
                                  "functions": len(run)})
    write("parts.json", json.dumps(manifest, indent=2) + "\n")
    return manifest


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--input-c", required=True, help="wasm2c's .c output")
    ap.add_argument("--input-h", required=True, help="wasm2c's .h output (same stem)")
    ap.add_argument("--output-dir", required=True, help="empty or missing directory")
    ap.add_argument("--parts", type=int, default=16, help="number of translation units")
    ap.add_argument("--atomic-global", action="append", default=[], metavar="NAME",
                    help="exported global another thread may write: read it atomically")
    ap.add_argument("--inline-max-bytes", type=int, default=0, metavar="B",
                    help="define functions of at most B bytes of C in the private header, "
                         "static inline (default 0: none)")
    args = ap.parse_args(argv)
    if args.parts < 1:
        print("split_wasm2c_output: --parts must be at least 1", file=sys.stderr)
        return 1
    if args.inline_max_bytes < 0:
        print("split_wasm2c_output: --inline-max-bytes must not be negative", file=sys.stderr)
        return 1
    try:
        split(args.input_c, args.input_h, args.output_dir, args.parts, args.atomic_global,
              args.inline_max_bytes)
    except (SplitError, OSError, UnicodeDecodeError) as e:
        print(f"split_wasm2c_output: {args.input_c}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
