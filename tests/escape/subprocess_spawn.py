# No processes: subprocess and os.system fail with normal Python exceptions.
# expect: {"exit_code": 0, "trap_reason": null, "stdout": "subprocess refused OSError\nos.system absent\nos.fork absent\n"}
import os
try:
    import subprocess
    subprocess.run(["/bin/sh", "-c", "echo pwned"])
    print("subprocess ALLOWED")
except Exception as e:
    print("subprocess refused", type(e).__name__)
print("os.system", "present" if hasattr(os, "system") else "absent")
print("os.fork", "present" if hasattr(os, "fork") else "absent")
