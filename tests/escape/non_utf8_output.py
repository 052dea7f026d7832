# Bytes that are not UTF-8 reach the result as U+FFFD, never as invalid text.
# expect: {"exit_code": 0, "success": true, "stdout": "\ufffd\ufffdok\ufffd\n", "stdout_bytes": 6}
import sys
sys.stdout.buffer.write(b"\xff\xfeok\xc3\n")
