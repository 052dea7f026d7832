# No network: creating a socket fails with a normal Python exception.
# expect: {"exit_code": 0, "trap_reason": null, "stdout": "socket refused\n"}
try:
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.connect(("127.0.0.1", 22))
    print("socket ALLOWED")
except (OSError, AttributeError, ImportError) as e:
    print("socket refused")
