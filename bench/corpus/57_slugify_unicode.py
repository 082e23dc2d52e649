# Slugs and search keys from Unicode titles: NFKD, accents removed, categories.
import re
import unicodedata

titles = ["Crème Brûlée à la Française", "Ærø — Ørsted's Ñandú!", "  Ｆｕｌｌｗｉｄｔｈ　ＡＢＣ ",
          "naïve café résumé", "Straße & Maß", "Ελληνικά κείμενα"]

def slugify(s):
    s = unicodedata.normalize("NFKD", s)
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    s = s.replace("ß", "ss").replace("Æ", "AE").replace("Ø", "O").replace("ø", "o")
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")

for t in titles:
    print(f"{slugify(t)!r:40} {len(t)} chars")
print([unicodedata.name(c) for c in "é€→"])
print(unicodedata.category("A"), unicodedata.category("5"), unicodedata.category(" "), unicodedata.numeric("½"))
print(unicodedata.normalize("NFC", "e\u0301") == "é", len("e\u0301"), "ǅ".lower(), "ﬁ".upper())
