# An invoice in Decimal: line totals, discounts, tax rounded half-up to cents.
from decimal import Decimal, ROUND_HALF_UP

CENT = Decimal("0.01")
items = [("Coffee beans 1kg", 2, "18.90"), ("Filter papers", 3, "2.35"), ("Grinder", 1, "129.99"),
         ("Mug", 4, "7.125")]
discount = Decimal("0.10")
tax_rate = Decimal("0.19")
subtotal = Decimal(0)
for name, qty, price in items:
    line = (Decimal(price) * qty).quantize(CENT, ROUND_HALF_UP)
    subtotal += line
    print(f"{name:<18}{qty:>3} x {Decimal(price):>8} = {line:>9}")
disc = (subtotal * discount).quantize(CENT, ROUND_HALF_UP)
tax = ((subtotal - disc) * tax_rate).quantize(CENT, ROUND_HALF_UP)
print(f"{'subtotal':<34}{subtotal:>9}")
print(f"{'discount 10%':<34}{-disc:>9}")
print(f"{'tax 19%':<34}{tax:>9}")
print(f"{'total':<34}{subtotal - disc + tax:>9}")
print(sum(Decimal("0.1") for _ in range(10)) == 1, sum(0.1 for _ in range(10)) == 1)
