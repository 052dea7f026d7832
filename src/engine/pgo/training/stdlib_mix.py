# PGO training: json, re, sqlite3, hashlib, struct, decimal, datetime, heapq,
# itertools, functools, generators and sorting.
import datetime, decimal, functools, hashlib, heapq, itertools, json, re, sqlite3, struct
doc = {"items": [{"id": i, "name": f"item-{i}", "tags": ["a", "b"][: i % 3], "price": i * 1.25}
                 for i in range(3000)]}
for _ in range(5):
    doc = json.loads(json.dumps(doc, sort_keys=True))
pat = re.compile(r"item-(\d+)7\b")
hits = sum(1 for it in doc["items"] if pat.search(it["name"]))
db = sqlite3.connect(":memory:")
db.execute("create table t (id integer primary key, name text, price real)")
db.executemany("insert into t values (?, ?, ?)", ((it["id"], it["name"], it["price"]) for it in doc["items"]))
total = db.execute("select sum(price) from t where id % 3 = 0").fetchone()[0]
digest = hashlib.sha256(json.dumps(doc).encode()).hexdigest()[:12]
packed = b"".join(struct.pack("<iqd", i, i * i, i / 3) for i in range(5000))
dec = sum(decimal.Decimal(i) / decimal.Decimal(7) for i in range(2000))
day = datetime.date(2020, 1, 1) + datetime.timedelta(days=1000)
heap = [(i * 7919) % 10007 for i in range(20000)]
heapq.heapify(heap)
smallest = [heapq.heappop(heap) for _ in range(5)]
pairs = list(itertools.islice(itertools.combinations(range(50), 3), 5000))
@functools.lru_cache(maxsize=None)
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
gen = sum(x * x for x in range(100000) if x % 3)
print(hits, round(total, 2), digest, len(packed), round(dec, 4), day, smallest, len(pairs), fib(90), gen,
      sorted(doc["items"], key=lambda it: (-it["price"], it["name"]))[0]["id"])
