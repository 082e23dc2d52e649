# Compare two versions of a text: unified diff, similarity ratio, close matches.
import difflib

old = """def greet(name):
    print("Hello " + name)

def add(a, b):
    return a + b
""".splitlines(keepends=True)
new = """def greet(name, greeting="Hello"):
    print(f"{greeting} {name}")

def add(a, b):
    return a + b

def sub(a, b):
    return a - b
""".splitlines(keepends=True)
print("".join(difflib.unified_diff(old, new, fromfile="a/util.py", tofile="b/util.py")), end="")
sm = difflib.SequenceMatcher(None, "".join(old), "".join(new))
print(round(sm.ratio(), 4))
for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, "kitten sat", "sitting sat").get_opcodes():
    print(tag, i1, i2, j1, j2)
print(difflib.get_close_matches("appel", ["ape", "apple", "peach", "puppy", "applet"], n=3))
