# A syntax error: exit status 1, SyntaxError on stderr, nothing run.
# expect: {"exit_code": 1, "success": false, "trap_reason": null, "stdout": "", "stderr_contains": ["File \"/app/user_code.py\", line 3", "SyntaxError"]}
print("never printed"
