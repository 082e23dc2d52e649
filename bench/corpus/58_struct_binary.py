# Binary records with struct: pack sensor readings, parse them back, a checksum.
import struct
import zlib

HEADER = struct.Struct("<4sHI")          # magic, version, count
RECORD = struct.Struct("<IhHf")          # timestamp, temperature*100, humidity*10, pressure
readings = [(1700000000 + 60 * i, -350 + 97 * i, 455 + 3 * i, 1013.25 - 0.5 * i) for i in range(6)]
blob = HEADER.pack(b"SENS", 2, len(readings)) + b"".join(RECORD.pack(*r) for r in readings)
blob += struct.pack("<I", zlib.crc32(blob))
print(len(blob), blob[:10].hex(" "))
magic, version, count = HEADER.unpack_from(blob)
body = blob[HEADER.size:-4]
(crc,) = struct.unpack("<I", blob[-4:])
print(magic, version, count, crc == zlib.crc32(blob[:-4]))
for ts, t, h, p in RECORD.iter_unpack(body):
    print(ts, f"{t / 100:6.2f}C", f"{h / 10:4.1f}%", f"{p:8.2f}hPa")
print(struct.calcsize("<IhHf"), struct.calcsize("IhHf"), struct.pack(">H", 258), int.from_bytes(b"\x01\x02", "little"))
