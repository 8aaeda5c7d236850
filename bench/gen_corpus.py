#!/usr/bin/env python3
"""Generates a synthetic content folder for the crier benchmark.

Usage: gen_corpus.py N OUT_DIR

Writes N Markdown files of about 2 KB each, with TOML front matter, headings, links, lists,
`&` and `<`, accents, CJK and emoji, spread over 100 sub-folders. Deterministic: the same N
gives the same files, so runs can be compared.
"""
import os
import random
import sys

WORDS = (
    "city region project inclusion school family children parents training mediator "
    "housing health employment council network prize programme community volunteers "
    "Kragujevac Gent Madrid Reggio émancipation égalité coopération éducation "
    "città società 城市 包容 教育 🎉 🏠 📚 R&D <partners> naïve café"
).split()


def sentence(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def body(rng, i):
    parts = [
        f"## Part {i} & more <overview>",
        " ".join(sentence(rng, 14) for _ in range(4)),
        f"See [the programme](../programme-{i % 50}/) and [an absolute link](https://example.org/p/{i}).",
        "",
        "- " + sentence(rng, 6),
        "- " + sentence(rng, 7),
        "- " + sentence(rng, 5),
        "",
        "### Results",
        " ".join(sentence(rng, 16) for _ in range(5)),
        "",
        "1. " + sentence(rng, 8),
        "2. " + sentence(rng, 8),
        "",
        f"![photo {i}](images/photo-{i}.jpg)",
        "",
        " ".join(sentence(rng, 12) for _ in range(3)),
    ]
    return "\n".join(parts) + "\n"


def main():
    n = int(sys.argv[1])
    out = sys.argv[2]
    rng = random.Random(n)
    for i in range(n):
        folder = os.path.join(out, f"section-{i % 100:02d}")
        os.makedirs(folder, exist_ok=True)
        day = 1 + i % 28
        month = 1 + (i // 28) % 12
        year = 2015 + (i // 336) % 10
        title = f"Project {i}: {sentence(rng, 5)[:-1]} & <co>"
        front = (
            "+++\n"
            f'title = "{title}"\n'
            f"date = {year}-{month:02d}-{day:02d}T{i % 24:02d}:{i % 60:02d}:00+01:00\n"
            f'summary = "{sentence(rng, 20)}"\n'
            f'categories = ["{rng.choice(["Housing", "Education", "Health", "Employment"])}"]\n'
            f'tags = ["t{i % 30}", "t{i % 7}"]\n'
            f'image = {{ src = "images/cover-{i}.jpg", alt = "Cover {i}" }}\n'
            "[extra]\n"
            f'city = "{rng.choice(["Gent", "Madrid", "Kragujevac", "Reggio nell’Emilia"])}"\n'
            f"rank = {1 + i % 3}\n"
            "+++\n\n"
        )
        with open(os.path.join(folder, f"entry-{i:05d}.md"), "w", encoding="utf-8") as f:
            f.write(front + body(rng, i))


if __name__ == "__main__":
    main()
