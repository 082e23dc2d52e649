# Content hashes, HMAC signatures, and a deduplication index by digest.
import hashlib
import hmac

docs = {"a.txt": b"hello world\n", "b.txt": b"another file", "c.txt": b"hello world\n", "d.txt": b""}
index = {}
for name, data in sorted(docs.items()):
    digest = hashlib.sha256(data).hexdigest()
    index.setdefault(digest, []).append(name)
for digest, names in index.items():
    print(digest[:16], names)
print(hashlib.md5(b"abc").hexdigest(), hashlib.sha1(b"abc").hexdigest())
print(hashlib.blake2b(b"abc", digest_size=16).hexdigest(), hashlib.sha3_256(b"abc").hexdigest()[:20])
key = b"secret-key"
msg = b'{"user": 42, "action": "delete"}'
sig = hmac.new(key, msg, hashlib.sha256).hexdigest()
print(sig)
print(hmac.compare_digest(sig, hmac.new(key, msg, "sha256").hexdigest()))
h = hashlib.sha256()
for chunk in (b"part1", b"part2", b"part3"):
    h.update(chunk)
print(h.hexdigest() == hashlib.sha256(b"part1part2part3").hexdigest())
print(hashlib.sha512(b"password" + b"salt").hexdigest()[:32], hashlib.file_digest is not None)
