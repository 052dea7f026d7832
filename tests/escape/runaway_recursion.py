# Unbounded recursion ends in RecursionError, an ordinary exception.
# expect: {"exit_code": 1, "success": false, "trap_reason": null, "stderr_contains": ["RecursionError: maximum recursion depth exceeded", "File \"/app/user_code.py\", line 5"]}
def f(n):
    return f(n + 1)
f(0)
