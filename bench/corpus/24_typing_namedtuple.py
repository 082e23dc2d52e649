# Typed records: NamedTuple, TypedDict, Protocol, generics, with runtime checks.
from typing import NamedTuple, TypedDict, Protocol, TypeVar, Generic, Optional, get_type_hints

class Point(NamedTuple):
    x: float
    y: float
    label: Optional[str] = None

class Config(TypedDict, total=False):
    host: str
    port: int

class HasArea(Protocol):
    def area(self) -> float: ...

T = TypeVar("T")

class Stack(Generic[T]):
    def __init__(self) -> None:
        self.items: list[T] = []
    def push(self, x: T) -> None:
        self.items.append(x)
    pop = lambda self: self.items.pop()

class Square:
    def __init__(self, s: float) -> None:
        self.s = s
    area = lambda self: self.s * self.s

def total_area(shapes: list[HasArea]) -> float:
    return sum(s.area() for s in shapes)

p = Point(1.5, -2, "a")
print(p, p._asdict(), p._replace(label=None))
cfg: Config = {"host": "localhost", "port": 8080}
print(sorted(cfg.items()), get_type_hints(Config))
s: Stack[int] = Stack()
for i in range(3):
    s.push(i * i)
print(s.pop(), s.items, total_area([Square(2), Square(3)]))
