# Filling the workspace without catching the error ends the program with
# Python's own OSError, exit code 1, and both refusals counted: the
# write in the loop, and the flush of what was still buffered when the file
# was closed on the way out.
# policy: {"workspace_max_bytes": 40960}
# expect: {"exit_code": 1, "success": false, "trap_reason": null, "stderr_contains": ["OSError: [Errno 51] No space left on device"], "workspace_writes_refused": 2}
with open("/app/fill", "wb") as f:
    while True:
        f.write(b"x" * 4096)
        f.flush()
