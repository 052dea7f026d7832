import numpy as np
print(np.__version__, np.arange(10).sum(), np.linalg.solve(np.eye(3)*2, np.ones(3)), np.fft.fft(np.ones(4)), np.random.default_rng(1).random(3))
