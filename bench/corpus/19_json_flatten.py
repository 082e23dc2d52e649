# Flatten nested JSON into dotted keys and back again.
import json

doc = json.loads("""{"user": {"id": 7, "name": {"first": "Ada", "last": "Lovelace"},
  "roles": ["admin", "dev"], "prefs": {"theme": "dark", "tz": null}}, "active": true}""")

def flatten(obj, prefix=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from flatten(v, f"{prefix}{k}.")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from flatten(v, f"{prefix}{i}.")
    else:
        yield prefix[:-1], obj

def unflatten(flat):
    root = {}
    for key, value in flat.items():
        parts = key.split(".")
        node = root
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return root

flat = dict(flatten(doc))
for k, v in flat.items():
    print(f"{k} = {json.dumps(v)}")
print(json.dumps(unflatten(flat)["user"]["name"]))
