# URLs: parse, normalise query strings, build links, quote and unquote.
from urllib.parse import urlparse, urlunparse, parse_qs, urlencode, quote, unquote, urljoin, parse_qsl

urls = ["https://Example.COM:443/search?q=caf%C3%A9+au+lait&page=2&tag=a&tag=b#results",
        "http://localhost:8000/api/v1/items/?sort=-price&limit=10",
        "ftp://user:pw@files.example.org/pub/file.tar.gz"]
for u in urls:
    p = urlparse(u)
    print(p.scheme, p.hostname, p.port, p.path, dict(parse_qs(p.query)), p.fragment, p.username)
p = urlparse(urls[0])
query = sorted(parse_qsl(p.query) + [("lang", "en")])
clean = urlunparse((p.scheme, p.hostname, p.path, "", urlencode(query), ""))
print(clean)
print(urljoin("https://example.com/docs/guide/intro.html", "../api/index.html"))
print(urljoin("https://example.com/docs/", "/about"), quote("a b/c?d=é"), quote("a b/c", safe=""))
print(unquote("%E2%9C%93%20done"), urlencode({"q": "x&y=z", "n": 3}))
