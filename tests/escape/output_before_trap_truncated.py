# Output before a trap is cut at the cap like any other, and the counts
# stay exact: 3,000 lines of 10 bytes, then the fuel runs out.
# policy: {"fuel_budget": 50000000, "stdout_max_bytes": 1000}
# expect: {"exit_code": 134, "success": false, "trap_reason": "out_of_fuel", "stdout_prefix": "line 0000\nline 0001\n", "stdout_text_bytes": 1000, "stdout_bytes": 30000, "stdout_truncated": true}
for i in range(3000):
    print(f"line {i:04}")
while True:
    pass
