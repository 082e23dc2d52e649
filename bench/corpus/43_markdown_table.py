# Render records as a Markdown table with aligned columns and a totals row.
records = [
    {"name": "eryx", "lang": "C", "stars": 1280, "ratio": 0.9312},
    {"name": "pyeryx", "lang": "Rust", "stars": 15400, "ratio": 0.88},
    {"name": "tiny", "lang": "Python", "stars": 7, "ratio": 1.0},
    {"name": "wasm-runner", "lang": "Go", "stars": 342, "ratio": 0.5},
]
cols = [("name", "<", "{}"), ("lang", "<", "{}"), ("stars", ">", "{:,}"), ("ratio", ">", "{:.1%}")]
cells = [[fmt.format(r[key]) for key, _, fmt in cols] for r in records]
cells.append(["**total**", "", "{:,}".format(sum(r["stars"] for r in records)), ""])
widths = [max(len(key), *(len(row[i]) for row in cells)) for i, (key, _, _) in enumerate(cols)]

def line(values):
    return "| " + " | ".join(f"{v:{a}{w}}" for v, (_, a, _), w in zip(values, cols, widths)) + " |"

print(line([key for key, _, _ in cols]))
print("|" + "|".join((":" if a == "<" else "-") + "-" * w + (":" if a == ">" else "-") for (_, a, _), w in zip(cols, widths)) + "|")
for row in cells:
    print(line(row))
