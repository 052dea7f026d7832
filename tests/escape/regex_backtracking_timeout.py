# Catastrophic regex backtracking spins inside the C regex engine, far from
# any Python bytecode; the wall-clock timeout still stops it.
# policy: {"timeout_seconds": 1.0, "fuel_budget": 9000000000000000000}
# expect: {"exit_code": 124, "success": false, "trap_reason": "timeout", "stdout": "start\n", "duration_ms_max": 6000}
import re
print("start", flush=True)
re.match(r"(a+)+$", "a" * 64 + "b")
print("finished")
