# A flood of small files stops at the workspace quota: each file costs at
# least one 4 KiB block, so a 64-block quota holds 59 of them beside what
# the fixture already has (three symlinks, inside.txt, this program). The
# guest gets ENOSPC, an OSError it can catch, and the host counts the one
# refusal.
# policy: {"workspace_max_bytes": 262144}
# expect: {"exit_code": 0, "success": true, "trap_reason": null, "stdout": "created 59 files, then ENOSPC\n", "workspace_writes_refused": 1}
import errno
import os

count = 0
try:
    while True:
        with open(f"/app/f{count}", "w") as f:
            f.write("x" * 100)
        count += 1
except OSError as e:
    print(f"created {count} files, then {errno.errorcode[e.errno]}")
