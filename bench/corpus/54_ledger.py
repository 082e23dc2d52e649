# A double-entry ledger in Decimal: postings, running balances, a trial balance.
from decimal import Decimal
from collections import defaultdict

entries = [
    ("2024-01-01", "opening", [("assets:bank", "5000.00"), ("equity:opening", "-5000.00")]),
    ("2024-01-03", "rent", [("expenses:rent", "1200.00"), ("assets:bank", "-1200.00")]),
    ("2024-01-05", "salary", [("assets:bank", "3150.75"), ("income:salary", "-3150.75")]),
    ("2024-01-09", "groceries", [("expenses:food", "84.33"), ("expenses:household", "12.10"),
                                 ("assets:bank", "-96.43")]),
    ("2024-01-12", "card", [("expenses:fun", "45.00"), ("liabilities:card", "-45.00")]),
]
balances = defaultdict(Decimal)
for day, memo, postings in entries:
    amounts = [Decimal(a) for _, a in postings]
    assert sum(amounts) == 0, memo
    for (account, _), amount in zip(postings, amounts):
        balances[account] += amount
    print(f"{day} {memo:<10} bank={balances['assets:bank']:>9}")
print("-" * 32)
for account in sorted(balances):
    print(f"{account:<20}{balances[account]:>12}")
top = defaultdict(Decimal)
for account, amount in balances.items():
    top[account.split(":")[0]] += amount
print(dict(sorted((k, str(v)) for k, v in top.items())), sum(balances.values()))
