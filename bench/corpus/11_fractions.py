# Exact arithmetic with fractions: harmonic numbers, a recipe scaled, Egyptian fractions.
from fractions import Fraction

h = sum(Fraction(1, k) for k in range(1, 21))
print("H20 =", h, "~", float(h))
recipe = {"flour": Fraction(3, 4), "sugar": Fraction(1, 3), "butter": Fraction(1, 2)}
scale = Fraction(5, 2)
for name, cups in recipe.items():
    q = cups * scale
    whole, rest = divmod(q.numerator, q.denominator)
    print(f"{name}: {whole} {Fraction(rest, q.denominator)} cups" if whole else f"{name}: {q} cups")

def egyptian(f):
    out = []
    while f.numerator:
        d = -(-f.denominator // f.numerator)
        out.append(Fraction(1, d))
        f -= Fraction(1, d)
    return out

print(" + ".join(str(x) for x in egyptian(Fraction(7, 15))))
print(Fraction("3.1415926535").limit_denominator(1000), Fraction(0.1).limit_denominator())
