# PGO training: classes, method calls, properties, closures, exceptions.
class Vec:
    __slots__ = ("x", "y")
    def __init__(self, x, y):
        self.x, self.y = x, y
    def __add__(self, o):
        return Vec(self.x + o.x, self.y + o.y)
    @property
    def norm2(self):
        return self.x * self.x + self.y * self.y

class Node:
    def __init__(self, v, kids=()):
        self.v = v
        self.kids = list(kids)
    def total(self):
        return self.v + sum(k.total() for k in self.kids)

def build(depth):
    return Node(depth, [build(depth - 1) for _ in range(2)]) if depth else Node(0)

acc = Vec(0, 0)
for i in range(60000):
    acc = acc + Vec(i % 3, -(i % 5))
def make_adder(n):
    return lambda x: x + n
adders = [make_adder(i) for i in range(100)]
s = 0
for i in range(30000):
    try:
        s += adders[i % 100](i) // (i % 13)
    except ZeroDivisionError:
        s -= 1
print(acc.norm2, build(12).total(), s)
