# Sleeping past the timeout is cut by the wall clock.
# policy: {"timeout_seconds": 1.0}
# expect: {"exit_code": 124, "success": false, "trap_reason": "timeout", "stdout": "before\n", "duration_ms_max": 6000}
import sys, time
print("before")
sys.stdout.flush()
time.sleep(60)
print("after")
