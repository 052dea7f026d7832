# What the code printed before running out of fuel is in the result: the
# guest's stdout is unbuffered, so nothing waits in a buffer that dies with
# the trap. The last write has no newline.
# policy: {"fuel_budget": 20000000}
# expect: {"exit_code": 134, "success": false, "trap_reason": "out_of_fuel", "stdout": "progress\nstep 2 of 3", "stdout_bytes": 20, "stdout_truncated": false, "stderr": "warned\nExecution trapped: OutOfFuel\n"}
import sys
print("progress")
print("step 2 of 3", end="")
sys.stderr.write("warned\n")
while True:
    pass
