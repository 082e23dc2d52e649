# A 2-D vector class with operator overloading, used to simulate a projectile.
import math

class Vec:
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x, self.y = x, y
    def __add__(self, o):
        return Vec(self.x + o.x, self.y + o.y)
    def __sub__(self, o):
        return Vec(self.x - o.x, self.y - o.y)
    def __mul__(self, k):
        return Vec(self.x * k, self.y * k)
    __rmul__ = __mul__
    def __abs__(self):
        return math.hypot(self.x, self.y)
    def __eq__(self, o):
        return (self.x, self.y) == (o.x, o.y)
    def __iter__(self):
        yield from (self.x, self.y)
    def __repr__(self):
        return f"Vec({self.x:.3f}, {self.y:.3f})"

pos, vel, g, dt, t = Vec(0, 0), Vec(20 * math.cos(math.radians(45)), 20 * math.sin(math.radians(45))), Vec(0, -9.81), 0.01, 0
peak = pos
while pos.y >= 0:
    vel = vel + g * dt
    pos = pos + vel * dt
    t += dt
    peak = pos if pos.y > peak.y else peak
print("flight", round(t, 2), "s, landed at", pos, "peak", peak)
print(abs(Vec(3, 4)), 2 * Vec(1, 2) == Vec(2, 4), list(Vec(5, 6) - Vec(1, 1)))
