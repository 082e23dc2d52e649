"""docs/VFS-LIMITS.md: the cost of a mount quota on small writes (run with
build/eryx --mount DIR:/m:rw[,quota=1G,files=10] run bench/vfs_quota_write.py)."""
import os, time
fd = os.open('/m/f', os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
b = b'x' * 100
t = time.perf_counter()
for _ in range(100_000):
    os.write(fd, b)
os.close(fd)
print(round((time.perf_counter() - t) * 1e9 / 100_000), 'ns per 100-byte os.write')
