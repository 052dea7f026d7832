# Every write-like call on the read-only mount is refused (EROFS); the
# runner checks the host copy is byte-for-byte unchanged afterwards.
# expect: {"exit_code": 0, "trap_reason": null, "stdout": "open w refused EROFS\nopen a refused EROFS\nopen r+ refused EROFS\nopen x new refused EROFS\ntruncate refused EROFS\nftruncate refused EROFS\nwrite to r fd refused EROFS\nunlink refused EROFS\nrename within refused EROFS\nrename out refused EROFS\nrename in refused EROFS\nlink within refused EROFS\nsymlink refused EROFS\nmkdir refused EROFS\nrmdir refused EROFS\nutime refused EROFS\nread ok host secret: must never change\n"}
import errno, os
open("/app/mine.txt", "w").write("mine")
def attempt(label, fn):
    try:
        fn()
        print(label, "ALLOWED")
    except OSError as e:
        print(label, "refused", errno.errorcode[e.errno])
S = "/data/secret.txt"
attempt("open w", lambda: open(S, "w"))
attempt("open a", lambda: open(S, "a"))
attempt("open r+", lambda: open(S, "r+"))
attempt("open x new", lambda: open("/data/new.txt", "x"))
attempt("truncate", lambda: os.truncate(S, 0))
fd = os.open(S, os.O_RDONLY)
attempt("ftruncate", lambda: os.ftruncate(fd, 0))
attempt("write to r fd", lambda: os.write(fd, b"x"))
os.close(fd)
attempt("unlink", lambda: os.unlink(S))
attempt("rename within", lambda: os.rename(S, "/data/moved.txt"))
attempt("rename out", lambda: os.rename(S, "/app/stolen.txt"))
attempt("rename in", lambda: os.rename("/app/mine.txt", "/data/mine.txt"))
attempt("link within", lambda: os.link(S, "/data/hard.txt"))
attempt("symlink", lambda: os.symlink("secret.txt", "/data/sym"))
attempt("mkdir", lambda: os.mkdir("/data/newdir"))
attempt("rmdir", lambda: os.rmdir("/data/subdir"))
attempt("utime", lambda: os.utime(S, (0, 0)))
print("read ok", open(S).read().strip())
