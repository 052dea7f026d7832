import warnings, sys
import numpy as np
print("int_", np.dtype(np.int_), "intp", np.dtype(np.intp), "arange", np.arange(3).dtype, "longdouble", np.finfo(np.longdouble).dtype, np.finfo(np.longdouble).eps)
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    a = np.array([1.0, 0.0]) / 0
    b = np.array([1], dtype=np.int64) // 0
    c = np.array([1e308]) * 10
    print("float/0", a, "int//0", b, "overflow", c, "warnings:", [str(x.message) for x in w])
try:
    with np.errstate(all="raise"):
        np.array([1.0]) / 0
    print("errstate raise: no exception")
except FloatingPointError as e:
    print("errstate raise:", e)
from numpy.core._multiarray_umath import __cpu_baseline__, __cpu_dispatch__, __cpu_features__
print("cpu baseline", __cpu_baseline__, "dispatch", __cpu_dispatch__, "features on", [k for k, v in __cpu_features__.items() if v])
print("longdouble 1/3", repr(np.longdouble(1) / 3))
print("sum int32 overflow:", np.arange(100000).sum(), "vs int64", np.arange(100000, dtype=np.int64).sum())
print("ctypeslib", np.ctypeslib.ctypes)
try:
    import mmap; print("mmap ok")
except ImportError as e:
    print("mmap:", e)
print("multiarray __file__:", getattr(np.core._multiarray_umath, "__file__", None))
print(np.sort(np.array([3, 1, 2])), np.median([1, 2, 3, 4]), np.linalg.eigvals([[2, 0], [0, 3]]), np.linalg.svd(np.eye(2))[1])
print(np.random.RandomState(0).multinomial(10, [0.5, 0.5]), np.random.default_rng(0).multinomial(10, [0.5, 0.5]))
