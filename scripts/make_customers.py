#!/usr/bin/env python3
"""Generate data/customers.jsonl: 200 messy customer records with a learnable label.

Each line is one JSON object. Deliberately messy: nested objects (`user.age`,
`user.country`, `user.member`), missing keys, explicit nulls, empty strings, booleans,
categorical strings, an `id` column, a free-text `review`, and the label `"buy"`/`"skip"`.
The label comes from a fixed logistic rule over age, purchase frequency, spend, channel,
membership and review tone plus noise, so a model can learn it. Seeded: the file is the
same on every run.

Usage (from the repository root):
    python3 scripts/make_customers.py
"""

import json
import math
import os
import random

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO_ROOT, "data", "customers.jsonl")

COUNTRIES = ["CN", "US", "DE", "BR", "IN"]
CHANNELS = ["web", "app", "store"]
GOOD = ["great value", "fast delivery", "love the quality", "excellent support",
        "would recommend", "works perfectly", "very happy"]
BAD = ["too expensive", "slow shipping", "poor quality", "broke after a week",
       "rude support", "not worth it", "disappointed"]
NEUTRAL = ["ordered again", "the box was blue", "bought it for my sister",
           "arrived on tuesday", "standard packaging", "as described"]


def main():
    rng = random.Random(20240604)
    lines = []
    for i in range(1, 201):
        age = rng.randint(18, 75)
        freq = max(0, int(rng.gauss(6, 4)))
        spend = round(max(5.0, rng.gauss(120, 60)), 2)
        channel = rng.choice(CHANNELS)
        member = rng.random() < 0.4
        tone = rng.choice([-1, 0, 1])
        logit = (0.25 * (freq - 6) + 0.012 * (spend - 120) - 0.03 * (age - 45)
                 + (0.8 if channel == "app" else -0.4 if channel == "store" else 0.0)
                 + (0.7 if member else 0.0) + 1.3 * tone + rng.gauss(0, 0.5))
        label = "buy" if rng.random() < 1 / (1 + math.exp(-2.0 * logit)) else "skip"
        words = [rng.choice(GOOD if tone > 0 else BAD if tone < 0 else NEUTRAL)]
        words.append(rng.choice(NEUTRAL))
        if tone != 0 and rng.random() < 0.5:
            words.append(rng.choice(GOOD if tone > 0 else BAD))
        rng.shuffle(words)
        review = ", ".join(words).capitalize() + rng.choice([".", "!", ""])

        user = {"age": age, "country": rng.choice(COUNTRIES), "member": member}
        rec = {"id": i, "user": user, "purchase_freq": freq, "avg_spend": spend,
               "channel": channel, "newsletter": rng.random() < 0.5,
               "review": review, "label": label}
        # Messiness: absent keys, nulls and empty strings.
        r = rng.random()
        if r < 0.06:
            del user["age"]
        elif r < 0.10:
            user["age"] = None
        if rng.random() < 0.05:
            del rec["purchase_freq"]
        if rng.random() < 0.07:
            rec["avg_spend"] = None
        if rng.random() < 0.05:
            rec["channel"] = ""
        if rng.random() < 0.04:
            del rec["review"]
        if rng.random() < 0.03:
            rec["newsletter"] = None
        lines.append(json.dumps(rec, ensure_ascii=False))
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
