# A busy loop with fuel to spare is cut by the wall clock.
# policy: {"timeout_seconds": 1.0, "fuel_budget": 9000000000000000000}
# expect: {"exit_code": 124, "success": false, "trap_reason": "timeout", "duration_ms_max": 6000}
n = 0
while True:
    n += 1
