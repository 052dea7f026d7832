# C recursion past the guest's stack (the recursion limit lifted, the repr of
# a list nested a million deep) ends in a memory_out_of_bounds trap; what
# was printed first is in the result.
# expect: {"exit_code": 134, "success": false, "trap_reason": "memory_out_of_bounds", "stdout": "deep\n", "stderr": "Execution trapped: MemoryOutOfBounds\n"}
import sys
sys.setrecursionlimit(10**7)
x = []
for _ in range(10**6):
    x = [x]
print("deep")
repr(x)
