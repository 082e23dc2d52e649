# Caesar and Vigenere ciphers, and breaking a Caesar shift by letter frequency.
import string
from collections import Counter

LOWER = string.ascii_lowercase

def caesar(text, k):
    table = str.maketrans(LOWER + LOWER.upper(), LOWER[k:] + LOWER[:k] + (LOWER[k:] + LOWER[:k]).upper())
    return text.translate(table)

def vigenere(text, key, sign=1):
    out, i = [], 0
    for ch in text:
        if ch.lower() in LOWER:
            k = LOWER.index(key[i % len(key)])
            c = LOWER[(LOWER.index(ch.lower()) + sign * k) % 26]
            out.append(c.upper() if ch.isupper() else c)
            i += 1
        else:
            out.append(ch)
    return "".join(out)

msg = "Meet me near the old tree at seven, and bring the secret letters!"
enc = caesar(msg, 11)
print(enc)
guess = min(range(26), key=lambda k: -Counter(caesar(enc, -k % 26).lower())["e"])
print(guess, caesar(enc, -guess % 26) == msg)
v = vigenere(msg, "lemon")
print(v)
print(vigenere(v, "lemon", -1) == msg)
