# A caught exception printed to stderr is still a success.
# expect: {"exit_code": 0, "success": true, "trap_reason": null, "stdout": "recovered\n", "stderr_contains": ["ZeroDivisionError: division by zero"]}
import traceback
try:
    1 / 0
except ZeroDivisionError:
    traceback.print_exc()
print("recovered")
