# Allocating far past the memory cap raises MemoryError inside Python; the
# linear memory never grows past the cap.
# policy: {"memory_bytes": 67108864}
# expect: {"exit_code": 0, "trap_reason": null, "stdout": "big allocation MemoryError\ngrowth MemoryError\n", "memory_peak_bytes_max": 67108864}
try:
    x = bytearray(1 << 30)
    print("big allocation ALLOWED")
except MemoryError:
    print("big allocation MemoryError")
chunks = []
try:
    while True:
        chunks.append(bytearray(1 << 20))
except MemoryError:
    chunks = None
    print("growth MemoryError")
