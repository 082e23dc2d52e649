# Render an HTML list from user data safely (html.escape), then strip tags back to text.
import html
import re

comments = [
    {"user": "ann", "text": "Great post! <3", "likes": 4},
    {"user": "<script>alert(1)</script>", "text": 'Click "here" & win', "likes": 0},
    {"user": "cid", "text": "Use <b>bold</b> sparingly", "likes": 12},
]
parts = ["<ul class=\"comments\">"]
for c in sorted(comments, key=lambda c: -c["likes"]):
    parts.append(f'  <li data-likes="{c["likes"]}"><b>{html.escape(c["user"])}</b>: {html.escape(c["text"])}</li>')
parts.append("</ul>")
page = "\n".join(parts)
print(page)
text = html.unescape(re.sub(r"<[^>]+>", "", page))
print([line.strip() for line in text.splitlines() if line.strip()])
print(html.escape("'quotes'", quote=True), html.unescape("&lt;&eacute;&#233;&#x41;&gt;"))
