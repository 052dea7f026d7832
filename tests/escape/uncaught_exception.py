# An uncaught exception: exit status 1 and a traceback naming the script.
# expect: {"exit_code": 1, "success": false, "trap_reason": null, "stderr": "Traceback (most recent call last):\n  File \"/app/user_code.py\", line 5, in <module>\n    raise ValueError(\"boom\")\nValueError: boom\n"}
x = 1

raise ValueError("boom")
