# Writes past the workspace quota: a sparse write far out counts its
# apparent size and is refused whole; growing by truncate is refused; a big
# write fills the quota to the byte and the rest fails with ENOSPC. With a
# 16-block quota and 5 blocks already used by the fixture, a file may hold
# 11 blocks (45,056 bytes).
# policy: {"workspace_max_bytes": 65536}
# expect: {"exit_code": 0, "success": true, "trap_reason": null, "stdout": "sparse: ENOSPC size 0\ntruncate: ENOSPC size 0\nbig: ENOSPC size 45056\nafter delete: wrote 45056\n", "workspace_writes_refused": 3}
import errno
import os


def attempt(label, fn, path):
    try:
        fn()
        print(f"{label}: ok size {os.path.getsize(path)}")
    except OSError as e:
        print(f"{label}: {errno.errorcode[e.errno]} size {os.path.getsize(path)}")


def sparse():
    with open("/app/sparse", "wb") as f:
        f.seek(10 ** 9)
        f.write(b"y")


def truncate():
    with open("/app/sparse", "r+b") as f:
        f.truncate(10 ** 9)


def big():
    with open("/app/big", "wb") as f:
        f.write(b"z" * 1_000_000)


attempt("sparse", sparse, "/app/sparse")
attempt("truncate", truncate, "/app/sparse")
os.remove("/app/sparse")
attempt("big", big, "/app/big")
os.remove("/app/big")
with open("/app/again", "wb") as f:
    print("after delete: wrote", f.write(b"a" * 45056))
