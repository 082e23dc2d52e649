# Encodings: base64 (standard, URL-safe), base32, hex, a data URL, a fake JWT.
import base64
import binascii
import json

raw = bytes(range(250, 256)) + "héllo ✓".encode()
print(base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode())
print(base64.b32encode(b"eryx").decode(), base64.b16encode(b"eryx").decode(), binascii.hexlify(b"\x00\xff").decode())
print(base64.b64decode(base64.b64encode(raw)) == raw)
svg = '<svg xmlns="http://www.w3.org/2000/svg"/>'
print("data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode())

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

header = b64url(json.dumps({"alg": "none", "typ": "JWT"}, separators=(",", ":")).encode())
claims = b64url(json.dumps({"sub": "1234", "name": "Ann"}, separators=(",", ":")).encode())
token = f"{header}.{claims}."
print(token)
part = token.split(".")[1]
print(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))
try:
    base64.b64decode("not base64!", validate=True)
except binascii.Error as e:
    print("error:", e)
