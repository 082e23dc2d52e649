# String formatting: string.Template, format specs, str methods, a mail merge.
from string import Template, ascii_uppercase, capwords

letter = Template("Dear $name,\nyour order #$order of ${count} item(s) ships on $day.\n-- $$upport")
customers = [{"name": "Ms. Li", "order": 1042, "count": 3, "day": "Monday"},
             {"name": "Mr. O'Neil", "order": 1043, "count": 1, "day": "Tuesday"}]
for c in customers:
    print(letter.substitute(c))
print(Template("$a and $b").safe_substitute(a="x"))
print(f"{42:08.3f}|{255:#x}|{255:b}|{1e6:,.0f}|{0.25:.0%}|{'mid':^9}|{-3:+d}|{12345.678:e}")
print(capwords("the great gatsby"), "snake_case_name".replace("_", " ").title().replace(" ", ""))
print("  padded ".strip().upper(), "a,b,,c".split(","), "-".join(ascii_uppercase[:5]))
print("tab\tsep".expandtabs(8), "Straße".casefold(), "x".zfill(4), "abc".translate(str.maketrans("abc", "xyz")))
print("{0:>{1}}".format("right", 10), "%s has %d items (%.1f%%)" % ("cart", 3, 12.5))
