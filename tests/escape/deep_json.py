# Deeply nested JSON is refused by the recursion limit, not a crash.
# expect: {"exit_code": 0, "trap_reason": null, "stdout": "RecursionError\nRecursionError\n"}
import json
for text in ["[" * 100000 + "]" * 100000, '{"a":' * 100000 + "1" + "}" * 100000]:
    try:
        json.loads(text)
        print("parsed")
    except RecursionError:
        print("RecursionError")
