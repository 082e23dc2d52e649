# Paginate and batch: pages of a result set, chunked uploads, cursor tokens.
import base64
import json
from itertools import islice

items = [f"item-{i:03d}" for i in range(1, 48)]

def page(seq, number, size):
    pages = -(-len(seq) // size)
    lo = (number - 1) * size
    return {"page": number, "pages": pages, "items": seq[lo:lo + size], "has_next": number < pages}

print(page(items, 1, 10)["items"][:3], page(items, 5, 10))

def chunks(iterable, n):
    it = iter(iterable)
    while chunk := list(islice(it, n)):
        yield chunk

print([len(c) for c in chunks(items, 15)])

def encode_cursor(offset):
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode()

def fetch(cursor=None, size=20):
    offset = json.loads(base64.urlsafe_b64decode(cursor))["o"] if cursor else 0
    nxt = encode_cursor(offset + size) if offset + size < len(items) else None
    return items[offset:offset + size], nxt

cursor, seen = None, 0
while True:
    batch, cursor = fetch(cursor)
    seen += len(batch)
    print(batch[0], batch[-1], cursor)
    if cursor is None:
        break
print(seen)
