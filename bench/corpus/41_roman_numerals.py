# Roman numerals both ways, with validation by regex; exercises' checks.
import re

VALUES = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"), (40, "XL"),
          (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]
VALID = re.compile(r"^M{0,3}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})$")

def to_roman(n):
    out = []
    for v, s in VALUES:
        q, n = divmod(n, v)
        out.append(s * q)
    return "".join(out)

def from_roman(s):
    if not s or not VALID.match(s):
        raise ValueError(f"not a roman numeral: {s!r}")
    total, i = 0, 0
    for v, sym in VALUES:
        while s.startswith(sym, i):
            total += v
            i += len(sym)
    return total

for n in (1, 4, 9, 14, 40, 90, 400, 1994, 2024, 3999):
    r = to_roman(n)
    print(n, r, from_roman(r) == n)
print(all(from_roman(to_roman(n)) == n for n in range(1, 4000)))
for bad in ("IIII", "VX", "MMMM", ""):
    try:
        from_roman(bad)
    except ValueError as e:
        print(e)
