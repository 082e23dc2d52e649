# An inventory with dataclasses: defaults, ordering, frozen value objects, asdict.
from dataclasses import dataclass, field, asdict, replace

@dataclass(frozen=True, order=True)
class Money:
    cents: int
    def __str__(self):
        return f"${self.cents // 100}.{self.cents % 100:02d}"

@dataclass(order=True)
class Item:
    sku: str
    name: str = field(compare=False)
    price: Money = field(compare=False)
    qty: int = field(default=0, compare=False)
    tags: list = field(default_factory=list, compare=False)

    @property
    def value(self):
        return Money(self.price.cents * self.qty)

stock = [Item("B-2", "bolt", Money(15), 400, ["hardware"]), Item("A-1", "anvil", Money(12999), 2),
         Item("C-9", "chisel", Money(1850), 12, ["tools", "sharp"])]
for item in sorted(stock):
    print(f"{item.sku} {item.name:<7} {item.qty:>4} x {item.price} = {item.value}")
print(max(stock, key=lambda i: i.value.cents).name)
restocked = replace(stock[1], qty=10)
print(asdict(restocked))
print(Money(5) < Money(7), Money(5) == Money(5))
