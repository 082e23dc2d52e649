# Validate and normalise a list of e-mail addresses; group the valid ones by domain.
import re

EMAIL = re.compile(r"^(?P<user>[a-z0-9._%+-]+)@(?P<domain>[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,})$")
raw = ["  Alice@Example.com", "bob@example", "carol.smith+news@mail.example.org", "dave@@x.io",
       "eve@sub.domain.co.uk ", "frank@EXAMPLE.COM", "not an email", "gina_h@x.io"]
valid, invalid = {}, []
for item in raw:
    addr = item.strip().lower()
    m = EMAIL.match(addr)
    if m:
        valid.setdefault(m["domain"], []).append(m["user"])
    else:
        invalid.append(item.strip())
for domain in sorted(valid):
    print(f"{domain}: {', '.join(sorted(valid[domain]))}")
print("invalid:", invalid)
