# A stderr flood is cut at the cap and flagged; the run still succeeds.
# policy: {"stderr_max_bytes": 500}
# expect: {"exit_code": 0, "success": true, "stderr_truncated": true, "stderr_bytes": 505000, "stdout_truncated": false, "stdout": "done\n"}
import sys
for _ in range(5000):
    sys.stderr.write("e" * 100 + "\n")
print("done")
