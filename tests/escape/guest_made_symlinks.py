# Symlinks the guest makes itself may point anywhere, but following them
# never leaves the workspace.
# expect: {"path_denials_total": 2, "exit_code": 0, "trap_reason": null, "stdout": "abs refused ENOTCAPABLE\nup refused ENOTCAPABLE\ninside ok inside\n"}
import errno, os
os.symlink("/etc/passwd", "/app/abs")
os.symlink("../../../..", "/app/up")
os.symlink("inside.txt", "/app/in")
for label, path in [("abs", "/app/abs"), ("up", "/app/up/etc/passwd")]:
    try:
        print(label, "ALLOWED", open(path).read()[:20])
    except OSError as e:
        print(label, "refused", errno.errorcode[e.errno])
print("inside ok", open("/app/in").read().strip())
