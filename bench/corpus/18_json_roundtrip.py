# JSON in, transform, JSON out: an order payload validated and summarised.
import json

payload = '''{"order_id": "A-1001", "customer": {"name": "Zoë", "tier": "gold"},
 "lines": [{"sku": "X1", "qty": 2, "unit": 9.99}, {"sku": "Y7", "qty": 1, "unit": 24.5},
           {"sku": "Z3", "qty": 5, "unit": 1.2}], "notes": null, "gift": false}'''
order = json.loads(payload)
discount = {"gold": 0.1, "silver": 0.05}.get(order["customer"]["tier"], 0)
gross = sum(l["qty"] * l["unit"] for l in order["lines"])
out = {
    "id": order["order_id"],
    "customer": order["customer"]["name"],
    "items": sum(l["qty"] for l in order["lines"]),
    "skus": sorted(l["sku"] for l in order["lines"]),
    "gross": round(gross, 2),
    "net": round(gross * (1 - discount), 2),
    "flags": {"gift": order["gift"], "has_notes": order["notes"] is not None},
}
print(json.dumps(out, indent=2, ensure_ascii=False))
print(json.dumps(out, separators=(",", ":"), sort_keys=True))
