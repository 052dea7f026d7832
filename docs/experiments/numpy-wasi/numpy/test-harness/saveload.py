import numpy as np, io
a = np.arange(6.0)
b = io.BytesIO(); np.save(b, a); b.seek(0); print("BytesIO", np.load(b))
try:
    np.save("/tmp/x.npy", a); print("file", np.load("/tmp/x.npy"))
except OSError as e:
    print("np.save to a file:", e)
try:
    a.tofile("/tmp/x.bin"); print("tofile", np.fromfile("/tmp/x.bin"))
except OSError as e:
    print("tofile:", e)
print(np.loadtxt(io.StringIO("1 2\n3 4")))
