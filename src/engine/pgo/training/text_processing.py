# PGO training: string building, splitting, formatting, dict counting.
import collections
words = []
for i in range(40000):
    words.append("w%d" % (i % 997) + ("x" * (i % 7)))
text = " ".join(words)
counts = collections.Counter(text.split())
top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
lines = [f"{w:>10}|{n:05d}" for w, n in top]
upper = sum(1 for c in text[:200000] if c.isdigit())
print(len(counts), upper, lines[0], text.count("x"), text.replace("w1", "W").find("W"))
