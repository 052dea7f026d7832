# What the code printed before the wall-clock timeout is in the result.
# policy: {"timeout_seconds": 1.0, "fuel_budget": 9000000000000000000}
# expect: {"exit_code": 124, "success": false, "trap_reason": "timeout", "stdout": "started\n", "stdout_bytes": 8, "duration_ms_max": 6000}
print("started")
n = 0
while True:
    n += 1
