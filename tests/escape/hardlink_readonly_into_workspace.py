# A hard link from the read-only mount into the workspace would make the host
# file writable through the workspace; it is refused (and so is a rename).
# expect: {"path_denials_total": 0, "exit_code": 0, "trap_reason": null, "stdout": "link refused EROFS\nexists False\n"}
import errno, os
try:
    os.link("/data/secret.txt", "/app/secret_link.txt")
    print("link ALLOWED")
    with open("/app/secret_link.txt", "w") as f:
        f.write("overwritten")
except OSError as e:
    print("link refused", errno.errorcode[e.errno])
print("exists", os.path.exists("/app/secret_link.txt"))
