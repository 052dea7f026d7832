# PGO training: integer and float arithmetic, big ints, math functions.
import math
def primes(n):
    sieve = bytearray([1]) * (n + 1)
    sieve[0:2] = b"\x00\x00"
    for i in range(2, int(n ** 0.5) + 1):
        if sieve[i]:
            sieve[i * i :: i] = bytearray(len(sieve[i * i :: i]))
    return [i for i, p in enumerate(sieve) if p]
ps = primes(200000)
f = 1
for i in range(1, 600):
    f *= i
x = 0.0
for i in range(1, 150000):
    x += math.sin(i) * math.sqrt(i) / (1.0 + math.log(i))
mat = [[(i * j) % 7 + 0.5 for j in range(40)] for i in range(40)]
prod = [[sum(a * b for a, b in zip(row, col)) for col in zip(*mat)] for row in mat]
print(len(ps), len(str(f)), round(x, 6), round(prod[3][5], 3), 2 ** 200 % 1000003)
