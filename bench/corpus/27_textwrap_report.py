# A plain-text report: wrapped paragraphs, indentation, a fixed-width table.
import textwrap

title = "Quarterly summary"
body = ("Revenue grew in every region except the south, where a supplier problem delayed "
        "shipments for three weeks. Costs stayed flat. The team recommends renegotiating the "
        "logistics contract before the next quarter and hiring two more support engineers.")
print(title.center(50, "="))
print(textwrap.fill(body, width=50))
print()
print(textwrap.indent(textwrap.fill(body, width=40, max_lines=3, placeholder=" [...]"), "> "))
print(textwrap.shorten(body, width=60, placeholder="..."))
print(textwrap.dedent("""\
    Next steps:
      1. contract
      2. hiring"""))
rows = [("north", 1234567.891, 0.123), ("south", 98765.4, -0.0456), ("east", 5000000, 0.5)]
print(f"{'region':<8}|{'revenue':>15}|{'change':>8}")
print("-" * 8 + "+" + "-" * 15 + "+" + "-" * 8)
for name, rev, ch in rows:
    print(f"{name:<8}|{rev:>15,.2f}|{ch:>+8.1%}")
