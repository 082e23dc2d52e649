# Parse web server log lines with a regex: status counts, bytes per path, slow requests.
import re
from collections import Counter, defaultdict

LOG = """\
10.0.0.1 - - [12/Mar/2024:10:00:01 +0000] "GET /index.html HTTP/1.1" 200 5120 0.012
10.0.0.2 - - [12/Mar/2024:10:00:02 +0000] "GET /api/items?page=2 HTTP/1.1" 200 830 0.250
10.0.0.1 - - [12/Mar/2024:10:00:03 +0000] "POST /api/items HTTP/1.1" 201 120 0.410
10.0.0.3 - - [12/Mar/2024:10:00:04 +0000] "GET /missing HTTP/1.1" 404 0 0.003
10.0.0.2 - - [12/Mar/2024:10:00:05 +0000] "GET /api/items?page=3 HTTP/1.1" 500 64 1.204
10.0.0.4 - - [12/Mar/2024:10:00:06 +0000] "GET /index.html HTTP/1.1" 304 0 0.001
garbage line that does not match
"""
PAT = re.compile(r'(?P<ip>\S+) \S+ \S+ \[(?P<ts>[^\]]+)\] "(?P<method>\w+) (?P<path>[^ ?]+)\S* [^"]+" '
                 r"(?P<status>\d{3}) (?P<size>\d+) (?P<secs>[\d.]+)")
status, size, slow, bad = Counter(), defaultdict(int), [], 0
for line in LOG.splitlines():
    m = PAT.match(line)
    if not m:
        bad += 1
        continue
    status[m["status"]] += 1
    size[m["path"]] += int(m["size"])
    if float(m["secs"]) > 0.2:
        slow.append((m["method"], m["path"], m["secs"]))
print(sorted(status.items()))
print(dict(sorted(size.items())))
print(slow, "unparsed:", bad)
