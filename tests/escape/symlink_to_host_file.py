# A symlink in the workspace that points at a host file is not followed out.
# expect: {"path_denials_total": 2, "exit_code": 0, "trap_reason": null, "stdout": "read refused ENOTCAPABLE\nstat refused ENOTCAPABLE\nreadlink /etc/passwd\n"}
import errno, os
try:
    print("read ALLOWED", open("/app/link_to_passwd").read()[:20])
except OSError as e:
    print("read refused", errno.errorcode[e.errno])
try:
    print("stat ALLOWED", os.stat("/app/link_to_passwd"))
except OSError as e:
    print("stat refused", errno.errorcode[e.errno])
print("readlink", os.readlink("/app/link_to_passwd"))
