# Autocomplete with a trie: insert words with weights, top suggestions per prefix.
import heapq

class Trie:
    def __init__(self):
        self.root = {}

    def insert(self, word, weight):
        node = self.root
        for ch in word:
            node = node.setdefault(ch, {})
        node["$"] = weight

    def _walk(self, node, prefix):
        for ch, child in node.items():
            if ch == "$":
                yield child, prefix
            else:
                yield from self._walk(child, prefix + ch)

    def suggest(self, prefix, k=3):
        node = self.root
        for ch in prefix:
            if ch not in node:
                return []
            node = node[ch]
        return [w for _, w in heapq.nlargest(k, self._walk(node, prefix))]

t = Trie()
for word, weight in [("python", 90), ("pytest", 60), ("pydantic", 75), ("pyyaml", 40), ("pandas", 95),
                     ("numpy", 99), ("pip", 80), ("pipx", 20), ("poetry", 55), ("py", 10)]:
    t.insert(word, weight)
for prefix in ["py", "p", "pi", "n", "x", "pyt"]:
    print(f"{prefix!r}: {t.suggest(prefix)}")
