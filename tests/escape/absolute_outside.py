# Absolute paths outside every preopen are refused (wasi-libc finds no
# preopen for them and answers ENOTCAPABLE without asking the host).
# expect: {"path_denials_total": 0, "exit_code": 0, "trap_reason": null, "stdout": "/etc/passwd refused ENOTCAPABLE\n/proc/self/environ refused ENOTCAPABLE\n/tmp/x refused ENOTCAPABLE\n/ refused ENOTCAPABLE\n"}
import errno, os
for path, mode in [("/etc/passwd", "r"), ("/proc/self/environ", "r"), ("/tmp/x", "w")]:
    try:
        print(path, "ALLOWED", open(path, mode))
    except OSError as e:
        print(path, "refused", errno.errorcode[e.errno])
try:
    print("/ ALLOWED", os.listdir("/"))
except OSError as e:
    print("/", "refused", errno.errorcode[e.errno])
