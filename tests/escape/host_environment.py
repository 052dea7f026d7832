# The guest's environment is exactly the policy's: nothing of the host's.
# expect: {"exit_code": 0, "trap_reason": null, "stdout": "['LC_ALL', 'PYTHONHASHSEED', 'PYTHONIOENCODING', 'PYTHONUTF8', 'TMPDIR']\n"}
import os
print(sorted(os.environ))
