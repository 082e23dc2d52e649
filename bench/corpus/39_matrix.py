# Matrices as lists of lists: multiply, transpose, exact determinant and inverse (Fraction).
from fractions import Fraction

def matmul(a, b):
    return [[sum(x * y for x, y in zip(row, col)) for col in zip(*b)] for row in a]

def inverse(m):
    n = len(m)
    aug = [[Fraction(v) for v in row] + [Fraction(int(i == j)) for j in range(n)] for i, row in enumerate(m)]
    det = Fraction(1)
    for c in range(n):
        p = next(r for r in range(c, n) if aug[r][c] != 0)
        if p != c:
            aug[c], aug[p] = aug[p], aug[c]
            det = -det
        det *= aug[c][c]
        aug[c] = [v / aug[c][c] for v in aug[c]]
        for r in range(n):
            if r != c and aug[r][c]:
                aug[r] = [a - aug[r][c] * b for a, b in zip(aug[r], aug[c])]
    return det, [row[n:] for row in aug]

A = [[2, 1, 0], [1, 3, 1], [0, 1, 4]]
B = [[1, 2], [0, 1], [5, -1]]
print(matmul(A, B), [list(r) for r in zip(*B)])
det, inv = inverse(A)
print("det", det)
for row in inv:
    print(" ".join(f"{str(v):>7}" for v in row))
print(matmul(A, inv) == [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
