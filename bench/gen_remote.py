#!/usr/bin/env python3
"""Generates the upstream documents of the remote-source benchmark.

Usage: gen_remote.py N OUT_DIR

Writes OUT_DIR/feed.xml, an RSS 2.0 feed of N items (about 2 KB of HTML each), and
OUT_DIR/posts.json, the same N items as a WordPress REST API answer (one page, `_embedded`
terms and featured media). Deterministic: the same N gives the same bytes.
"""
import html
import json
import os
import random
import sys
from datetime import datetime, timedelta, timezone

WORDS = (
    "city region project inclusion school family children parents training mediator "
    "housing health employment council network prize programme community volunteers "
    "Kragujevac Gent Madrid Reggio émancipation égalité coopération éducation R&D <partners>"
).split()


def sentence(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def body(rng, i):
    paras = [html.escape(" ".join(sentence(rng, 14) for _ in range(4))) for _ in range(4)]
    return (
        f"<h2>Part {i}</h2>"
        + "".join(f"<p>{p}</p>" for p in paras)
        + f'<p><a href="/programme-{i % 50}/">programme</a> <img src="/img/{i}.jpg" alt="photo"></p>'
    )


def main():
    n, out = int(sys.argv[1]), sys.argv[2]
    os.makedirs(out, exist_ok=True)
    rng = random.Random(n)
    start = datetime(2015, 1, 1, tzinfo=timezone.utc)
    items = []
    for i in range(n):
        date = start + timedelta(hours=7 * i)
        items.append((i, f"Project {i}: {sentence(rng, 5)}", date, body(rng, i)))

    with open(os.path.join(out, "feed.xml"), "w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>')
        f.write("<title>Upstream</title><link>https://up.example.org/</link><description>d</description>")
        for i, title, date, text in reversed(items):
            f.write(
                f"<item><title>{html.escape(title)}</title>"
                f"<link>https://up.example.org/projects/{i}/</link>"
                f'<guid isPermaLink="false">project-{i}</guid>'
                f"<pubDate>{date.strftime('%a, %d %b %Y %H:%M:%S GMT')}</pubDate>"
                f"<category>topic-{i % 20}</category>"
                f"<description>{html.escape(text)}</description></item>"
            )
        f.write("</channel></rss>\n")

    posts = []
    for i, title, date, text in reversed(items):
        stamp = date.strftime("%Y-%m-%dT%H:%M:%S")
        posts.append(
            {
                "id": i + 1,
                "date": stamp,
                "date_gmt": stamp,
                "modified": stamp,
                "modified_gmt": stamp,
                "status": "publish",
                "type": "projects",
                "link": f"https://up.example.org/projects/{i}/",
                "guid": {"rendered": f"https://up.example.org/?p={i + 1}"},
                "title": {"rendered": html.escape(title)},
                "content": {"rendered": text, "protected": False},
                "excerpt": {"rendered": f"<p>{html.escape(sentence(rng, 20))}</p>"},
                "_embedded": {
                    "wp:term": [[{"id": i % 20, "name": f"topic-{i % 20}", "taxonomy": "category"}]],
                    "wp:featuredmedia": [
                        {"source_url": f"https://up.example.org/img/{i}.jpg", "alt_text": "photo"}
                    ],
                },
            }
        )
    with open(os.path.join(out, "posts.json"), "w", encoding="utf-8") as f:
        json.dump(posts, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
