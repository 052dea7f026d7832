# Symlinks to the workspace's parent or to / lead nowhere.
# expect: {"path_denials_total": 3, "exit_code": 0, "trap_reason": null, "stdout": "listdir parent refused ENOTCAPABLE\nread parent/outside.txt refused ENOTCAPABLE\nread root/etc/passwd refused ENOTCAPABLE\n"}
import errno, os
def attempt(label, fn):
    try:
        print(label, "ALLOWED", fn())
    except OSError as e:
        print(label, "refused", errno.errorcode[e.errno])
attempt("listdir parent", lambda: os.listdir("/app/link_to_parent"))
attempt("read parent/outside.txt", lambda: open("/app/link_to_parent/outside.txt").read())
attempt("read root/etc/passwd", lambda: open("/app/link_to_root/etc/passwd").read())
