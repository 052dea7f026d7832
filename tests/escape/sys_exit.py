# sys.exit(n) is the guest's exit status: not a trap, not a success.
# expect: {"exit_code": 7, "success": false, "trap_reason": null, "stdout": "leaving\n", "stderr": ""}
import sys
print("leaving")
sys.exit(7)
