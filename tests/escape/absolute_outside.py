# Absolute paths outside every mount reach the guest's "/", a read-only tree
# made of the mount points alone (wasi/virtual_root.h): what is not there is
# absent, nothing can be made there, and the mounts are listed. No host path
# is ever consulted, so nothing is refused (no path denials).
# expect: {"path_denials_total": 0, "exit_code": 0, "trap_reason": null, "stdout": "/etc/passwd ENOENT\n/proc/self/environ ENOENT\n/tmp/x ENOENT\nwrite /tmp/x ENOENT\nwrite /x EROFS\nmkdir /app EEXIST\nmkdir /etc EROFS\nrmdir /usr EROFS\nunlink /app EISDIR\nrename /app/f /f EXDEV\nsymlink /usr EEXIST\nlistdir / ['app', 'data', 'usr']\nlistdir /usr/local ['lib']\n/ is a directory True exists False\nresolve / /\nthrough / yes\n"}
import errno, os
from pathlib import Path


def attempt(label, fn):
    try:
        print(label, "ALLOWED", fn())
    except OSError as e:
        print(label, errno.errorcode[e.errno])


for path in ["/etc/passwd", "/proc/self/environ", "/tmp/x"]:
    attempt(path, lambda: open(path).read())
attempt("write /tmp/x", lambda: open("/tmp/x", "w"))
attempt("write /x", lambda: open("/x", "w"))
attempt("mkdir /app", lambda: os.mkdir("/app"))
attempt("mkdir /etc", lambda: os.mkdir("/etc"))
attempt("rmdir /usr", lambda: os.rmdir("/usr"))
attempt("unlink /app", lambda: os.unlink("/app"))
open("/app/f", "w").close()
attempt("rename /app/f /f", lambda: os.rename("/app/f", "/f"))
attempt("symlink /usr", lambda: os.symlink("/app/f", "/usr"))
print("listdir /", sorted(os.listdir("/")))
print("listdir /usr/local", sorted(os.listdir("/usr/local")))
print("/ is a directory", Path("/").is_dir(), "exists", Path("/nope/deeper").exists())
print("resolve /", Path("/").resolve())
# A path that climbs out of a mount at its top comes back through "/".
with open("/usr/../app/../app/f", "w") as f:
    f.write("yes")
print("through /", open("/app/f").read())
