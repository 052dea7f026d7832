# No native code: ctypes is not available.
# expect: {"exit_code": 0, "trap_reason": null, "stdout": "ctypes refused ModuleNotFoundError\n"}
try:
    import ctypes
    print("ctypes ALLOWED", ctypes.CDLL(None))
except Exception as e:
    print("ctypes refused", type(e).__name__)
