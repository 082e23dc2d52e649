# Word frequencies of a paragraph, ignoring case, punctuation and stop words.
import re
from collections import Counter

text = """The quick brown fox jumps over the lazy dog. The dog, being lazy, did not
react; the fox was quick and brown and very quick. A fox is a fox, and a dog is a dog!
Quick thinking: the fox jumped again, and again the dog slept."""
stop = {"the", "a", "and", "is", "was", "did", "not", "very", "over"}
words = [w for w in re.findall(r"[a-z']+", text.lower()) if w not in stop]
counts = Counter(words)
print(len(words), "words,", len(counts), "distinct")
for word, n in counts.most_common(6):
    print(f"{word:>10} {'#' * n} {n}")
longest = max(counts, key=lambda w: (len(w), w))
print("longest:", longest)
