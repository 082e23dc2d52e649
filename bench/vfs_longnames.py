"""docs/VFS-LIMITS.md: 2,000,000 os.mkdir with 255-byte names until the memfs refuses
(run with build/eryx --max-memory 64M run bench/vfs_longnames.py)."""
import errno, os, time
t = time.time(); n = 0
try:
    for i in range(2_000_000):
        os.mkdir('/tmp/' + str(i).zfill(255)); n += 1
except OSError as e:
    print(errno.errorcode[e.errno], n, 'dirs', round(time.time() - t, 2), 's')
else:
    print('no error', n, 'dirs', round(time.time() - t, 2), 's')
