# Primes: a sieve, factorisation, twin primes, Goldbach pairs, a Miller-Rabin check.
import math

def sieve(n):
    is_p = bytearray([1]) * (n + 1)
    is_p[0:2] = b"\x00\x00"
    for i in range(2, math.isqrt(n) + 1):
        if is_p[i]:
            is_p[i * i::i] = bytes(len(range(i * i, n + 1, i)))
    return [i for i, v in enumerate(is_p) if v]

def factor(n):
    out, d = [], 2
    while d * d <= n:
        while n % d == 0:
            out.append(d)
            n //= d
        d += 1
    return out + ([n] if n > 1 else [])

def is_probable_prime(n):
    if n < 4:
        return n > 1
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for a in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):
        x = pow(a, d, n)
        if x in (1, n - 1) or a % n == 0:
            continue
        if all((x := pow(x, 2, n)) != n - 1 for _ in range(s - 1)):
            return False
    return True

ps = sieve(100000)
print(len(ps), ps[-3:], factor(600851475143), factor(2 ** 32 + 1))
print(sum(1 for a, b in zip(ps, ps[1:]) if b - a == 2), [(p, 100 - p) for p in ps if p <= 50 and 100 - p in set(ps)])
print([n for n in (2 ** 61 - 1, 2 ** 61 + 1, 10 ** 18 + 9) if is_probable_prime(n)])
