# Deterministic identifiers: uuid5/uuid3 from names, parsing, short ids, checksums.
import uuid
import zlib

NS = uuid.uuid5(uuid.NAMESPACE_DNS, "example.com")
print(NS)
for name in ["alice", "bob", "alice"]:
    u = uuid.uuid5(NS, name)
    print(name, u, u.version, u.hex[:8])
u3 = uuid.uuid3(uuid.NAMESPACE_URL, "https://example.com/item/1")
print(u3, u3.version, uuid.UUID(str(u3)) == u3)
parsed = uuid.UUID("{12345678-1234-5678-1234-567812345678}")
print(parsed.int, parsed.fields[:3], parsed.urn)
ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"

def short(u, n=10):
    v, out = u.int, []
    while v and len(out) < n:
        v, r = divmod(v, len(ALPHABET))
        out.append(ALPHABET[r])
    return "".join(out)

print(short(NS), short(u3))
print(f"{zlib.crc32(b'hello world'):08x}", zlib.adler32(b"hello world"))
