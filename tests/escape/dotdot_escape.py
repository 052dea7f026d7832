# Paths with ".." that climb out of the workspace are refused by the kernel
# (openat2 RESOLVE_BENEATH), whatever the spelling.
# expect: {"path_denials_total": 4, "exit_code": 0, "trap_reason": null, "stdout": "/app/../outside.txt refused ENOTCAPABLE\n/app/a/../../outside.txt refused ENOTCAPABLE\n/app/../../../../etc/passwd refused ENOTCAPABLE\nlistdir /app/.. refused ENOTCAPABLE\n"}
import errno, os
os.mkdir("/app/a")
for path in ["/app/../outside.txt", "/app/a/../../outside.txt", "/app/../../../../etc/passwd"]:
    try:
        print(path, "ALLOWED", open(path).read())
    except OSError as e:
        print(path, "refused", errno.errorcode[e.errno])
try:
    print("listdir /app/.. ALLOWED", os.listdir("/app/.."))
except OSError as e:
    print("listdir /app/.. refused", errno.errorcode[e.errno])
