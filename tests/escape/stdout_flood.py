# A stdout flood is cut at the cap; the total the guest tried to write is
# counted exactly.
# policy: {"stdout_max_bytes": 1000}
# expect: {"exit_code": 0, "success": true, "stdout_truncated": true, "stdout_bytes": 1010000, "stdout_text_bytes": 1000, "stderr_truncated": false}
import sys
line = "x" * 100 + "\n"
for _ in range(10000):
    sys.stdout.write(line)
