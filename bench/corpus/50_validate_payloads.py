# Validate API payloads against a small hand-written schema; collect all errors.
import json

SCHEMA = {"name": (str, True), "age": (int, True), "email": (str, False), "tags": (list, False),
          "address": ({"city": (str, True), "zip": (str, False)}, False)}

def validate(obj, schema, path="$"):
    errors = []
    if not isinstance(obj, dict):
        return [f"{path}: expected object"]
    for key, (typ, required) in schema.items():
        if key not in obj:
            if required:
                errors.append(f"{path}.{key}: missing")
            continue
        val = obj[key]
        if isinstance(typ, dict):
            errors += validate(val, typ, f"{path}.{key}")
        elif not isinstance(val, typ) or (typ is int and isinstance(val, bool)):
            errors.append(f"{path}.{key}: expected {typ.__name__}, got {type(val).__name__}")
    errors += [f"{path}.{k}: unexpected" for k in obj if k not in schema]
    return errors

payloads = ['{"name": "Ann", "age": 31, "tags": ["a"], "address": {"city": "Oslo"}}',
            '{"name": "Bob", "age": "31", "extra": 1}', '{"age": true, "address": {"zip": 123}}', '[1, 2]']
for p in payloads:
    errs = validate(json.loads(p), SCHEMA)
    print("valid" if not errs else "; ".join(errs))
