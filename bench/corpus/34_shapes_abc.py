# An abstract base class with subclasses; polymorphic area and perimeter.
from abc import ABC, abstractmethod
import math

class Shape(ABC):
    @abstractmethod
    def area(self): ...
    @abstractmethod
    def perimeter(self): ...
    def describe(self):
        return f"{type(self).__name__:<9} area={self.area():9.3f} perimeter={self.perimeter():8.3f}"

class Circle(Shape):
    def __init__(self, r): self.r = r
    def area(self): return math.pi * self.r ** 2
    def perimeter(self): return 2 * math.pi * self.r

class Rect(Shape):
    def __init__(self, w, h): self.w, self.h = w, h
    def area(self): return self.w * self.h
    def perimeter(self): return 2 * (self.w + self.h)

class Square(Rect):
    def __init__(self, s): super().__init__(s, s)

class Triangle(Shape):
    def __init__(self, a, b, c): self.sides = (a, b, c)
    def perimeter(self): return sum(self.sides)
    def area(self):
        s = self.perimeter() / 2
        return math.sqrt(s * math.prod(s - x for x in self.sides))

shapes = [Circle(1.5), Rect(2, 5), Square(3), Triangle(3, 4, 5)]
for sh in sorted(shapes, key=lambda s: s.area()):
    print(sh.describe())
try:
    Shape()
except TypeError as e:
    print("TypeError:", e)
print([type(s).__mro__[1].__name__ for s in shapes])
