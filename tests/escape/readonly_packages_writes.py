# The shipped packages and the time-zone database are read-only like the
# standard library: no file there can be changed, added or removed.
# expect: {"exit_code": 0, "trap_reason": null, "stdout": "dist-packages new module refused EROFS\ndist-packages overwrite refused EROFS\ndist-packages unlink refused EROFS\ndist-packages mkdir refused EROFS\ndist-packages rename out refused EROFS\nzoneinfo overwrite refused EROFS\nzoneinfo new refused EROFS\nzoneinfo unlink refused EROFS\nyaml from /usr/local/lib/python3.11/dist-packages/yaml/__init__.py\n"}
import errno, os
SP = "/usr/local/lib/python3.11/dist-packages"
def attempt(label, fn):
    try:
        fn()
        print(label, "ALLOWED")
    except OSError as e:
        print(label, "refused", errno.errorcode[e.errno])
attempt("dist-packages new module", lambda: open(SP + "/evil.py", "w"))
attempt("dist-packages overwrite", lambda: open(SP + "/six.py", "w"))
attempt("dist-packages unlink", lambda: os.unlink(SP + "/six.py"))
attempt("dist-packages mkdir", lambda: os.mkdir(SP + "/evil"))
attempt("dist-packages rename out", lambda: os.rename(SP + "/six.py", "/app/six.py"))
attempt("zoneinfo overwrite", lambda: open("/usr/share/zoneinfo/UTC", "wb"))
attempt("zoneinfo new", lambda: open("/usr/share/zoneinfo/Evil", "wb"))
attempt("zoneinfo unlink", lambda: os.unlink("/usr/share/zoneinfo/UTC"))
import yaml
print("yaml from", yaml.__file__)
