#!/usr/bin/env python3
"""Writes the seed inputs of fuzz_wasi_host (fuzz/corpus/fuzz_wasi_host/):
small programs in its input language that reach the interesting paths, so
the fuzzer starts from them instead of from nothing.

Arguments are written as the target reads them (fuzz_wasi_host.cc: Args):
a selector byte below the table sizes picks a table value, 255 + 4 or 8
raw bytes gives that value."""

import struct
import sys
from pathlib import Path

# Opcodes (Call() in fuzz_wasi_host.cc).
FD_CLOSE, FD_FDSTAT_GET, FD_FILESTAT_GET, FD_READ, FD_READDIR = 8, 10, 13, 20, 21
FD_PWRITE, FD_SEEK, FD_WRITE, FD_PRESTAT_DIR_NAME = 19, 23, 26, 18
PATH_CREATE_DIRECTORY, PATH_FILESTAT_GET, PATH_LINK, PATH_OPEN = 27, 28, 30, 31
PATH_READLINK, PATH_REMOVE_DIRECTORY, PATH_RENAME, PATH_SYMLINK, PATH_UNLINK = 32, 33, 34, 35, 36
POLL_ONEOFF, RANDOM_GET, PROC_EXIT = 37, 40, 45
GROW = 236

STRINGS = ["a.txt", "sub/b.txt", "sub", "new", "new/dir", "../outside/secret.txt", "esc",
           "escdir", "escdir/secret.txt", "/app", "..", ".", "w.txt", "up", "up/secret.txt",
           "ro-new", "x/../../outside", "a.txt/", "//w.txt", "sub/../../readonly/a.txt", "link"]


def s(name):
    """Ptr and Len selectors of a table string."""
    i = STRINGS.index(name)
    return bytes([i]), bytes([i])


def fd(n):
    return bytes([n])


def raw32(v):
    return b"\xff" + struct.pack("<I", v)


def raw64(v):
    return b"\xff" + struct.pack("<Q", v)


OUT = bytes([64])          # Ptr: kOutBase
IOV16 = bytes([24])        # Ptr: the iovec {kBufBase, 16}
IOV_HUGE = bytes([29])     # Ptr: the iovec {0xfffffff0, 32}
SMALL = bytes([25])        # Len: 5
ALL_RIGHTS = bytes([14])   # U64: all ones
ZERO = bytes([0])


def path_open(dirfd, name, oflags, fdflags=0):
    p, n = s(name)
    return bytes([PATH_OPEN]) + fd(dirfd) + ZERO + p + n + raw32(oflags) + ALL_RIGHTS + \
        ALL_RIGHTS + raw32(fdflags) + OUT


def call(op, *args):
    return bytes([op]) + b"".join(args)


seeds = {
    "create_write_read": path_open(3, "new", 1 | 8) + call(FD_WRITE, fd(5), IOV16, SMALL, OUT)
    + call(FD_SEEK, fd(5), ZERO, ZERO, OUT) + call(FD_READ, fd(5), IOV16, SMALL, OUT)
    + call(FD_FILESTAT_GET, fd(5), OUT) + call(FD_CLOSE, fd(5)),
    "escapes": path_open(3, "esc", 0) + path_open(3, "escdir/secret.txt", 0)
    + path_open(3, "../outside/secret.txt", 0) + path_open(3, "x/../../outside", 2)
    + path_open(3, "sub/../../readonly/a.txt", 1),
    "read_only_writes": path_open(4, "a.txt", 1 | 8) + path_open(4, "ro-new", 1)
    + call(PATH_UNLINK, fd(4), *s("a.txt")) + call(PATH_CREATE_DIRECTORY, fd(4), *s("new"))
    + call(PATH_RENAME, fd(3), *s("w.txt"), fd(4), *s("ro-new"))
    + call(PATH_LINK, fd(4), ZERO, *s("a.txt"), fd(3), *s("link"))
    + call(PATH_SYMLINK, *s("../outside/secret.txt"), fd(4), *s("link")),
    "workspace_tree": call(PATH_CREATE_DIRECTORY, fd(3), *s("new"))
    + call(PATH_CREATE_DIRECTORY, fd(3), *s("new/dir"))
    + call(PATH_SYMLINK, *s("../outside/secret.txt"), fd(3), *s("link"))
    + call(PATH_READLINK, fd(3), *s("esc"), OUT, bytes([40]), bytes([65]))
    + call(PATH_RENAME, fd(3), *s("link"), fd(3), *s("escdir/secret.txt"))
    + call(PATH_REMOVE_DIRECTORY, fd(3), *s("new/dir"))
    + call(PATH_FILESTAT_GET, fd(3), ZERO, *s("up/secret.txt"), OUT)
    + path_open(3, ".", 2) + call(FD_READDIR, fd(5), OUT, bytes([40]), ZERO, bytes([66])),
    "memory_edges": call(FD_WRITE, fd(1), IOV_HUGE, SMALL, OUT)
    + call(FD_PRESTAT_DIR_NAME, fd(3), raw32(0xfffffffe), raw32(4))
    + bytes([GROW]) + call(RANDOM_GET, raw32(65536 * 3 - 8), raw32(16))
    + call(FD_PWRITE, fd(3), IOV16, SMALL, raw64(2**63), OUT)
    + call(POLL_ONEOFF, OUT, OUT, raw32(1), OUT) + call(PROC_EXIT, raw32(3))
    + call(FD_CLOSE, fd(3)),
}

out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "corpus/fuzz_wasi_host")
out.mkdir(parents=True, exist_ok=True)
for name, data in seeds.items():
    (out / name).write_bytes(data)
