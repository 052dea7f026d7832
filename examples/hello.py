# A first program for the sandbox: it runs CPython 3.11 compiled to
# WebAssembly, sees only /app (its workspace) and the standard library.
import hashlib
import json
import os
import sqlite3
import sys

print(f"Hello from Python {sys.version.split()[0]} on {sys.platform}")
print("sha256('snakecage') =", hashlib.sha256(b"snakecage").hexdigest()[:16], "...")
db = sqlite3.connect(":memory:")
db.execute("create table t (x)")
db.executemany("insert into t values (?)", [(i,) for i in range(10)])
print("sqlite sum:", db.execute("select sum(x) from t").fetchone()[0])
with open("/app/note.txt", "w") as f:
    json.dump({"written": True}, f)
print("workspace:", sorted(os.listdir("/app")))
try:
    open("/etc/passwd")
except OSError as e:
    print("host files stay out of reach:", type(e).__name__, e.strerror)
