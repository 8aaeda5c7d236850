#!/usr/bin/env python3
"""Checks feed files with an independent parser: Python's feedparser for RSS and Atom, the json
module plus the JSON Feed 1.1 required keys for .json files (feedparser does not read JSON Feed).

    python3 tests/tools/check_feeds.py [--expect-entries N] [--hreflang] FILE...

With --hreflang, each good RSS or Atom file also gets a line `FILE: hreflang JSON`: per entry,
the links feedparser read with an `hreflang`, as objects with `hreflang`, `href` and `title`.

Exit status: 0 when every file passes, 1 when one fails (each problem is printed), 2 on a usage
error, 77 when feedparser is not installed (the caller decides whether that is a skip).
"""

import argparse
import json
import sys

SKIP = 77


def check_json_feed(path, expect_entries):
    problems = []
    try:
        with open(path, encoding="utf-8") as f:
            feed = json.load(f)
    except (OSError, ValueError) as e:
        return [f"not readable as JSON: {e}"]
    if not str(feed.get("version", "")).startswith("https://jsonfeed.org/version/1"):
        problems.append(f"bad version: {feed.get('version')!r}")
    if not feed.get("title"):
        problems.append("feed has no title")
    items = feed.get("items")
    if not isinstance(items, list):
        return problems + ["feed has no items list"]
    if expect_entries is not None and len(items) != expect_entries:
        problems.append(f"{len(items)} items, expected {expect_entries}")
    for i, item in enumerate(items):
        if not item.get("id"):
            problems.append(f"item {i} has no id")
        if not item.get("title"):
            problems.append(f"item {i} has no title")
        if "content_html" not in item and "content_text" not in item:
            problems.append(f"item {i} has neither content_html nor content_text")
    return problems


def hreflang_links(parsed):
    return [
        [
            {"hreflang": link.get("hreflang"), "href": link.get("href"), "title": link.get("title")}
            for link in entry.get("links", [])
            if link.get("hreflang")
        ]
        for entry in parsed.entries
    ]


def check_xml_feed(feedparser, path, expect_entries):
    problems = []
    parsed = feedparser.parse(path)
    if parsed.bozo:
        problems.append(f"bozo: {parsed.get('bozo_exception')!r}")
    if parsed.version not in ("rss20", "atom10"):
        problems.append(f"unexpected feed version {parsed.version!r}")
    if not parsed.feed.get("title"):
        problems.append("feed has no title")
    entries = parsed.entries
    if not entries:
        problems.append("feed has no entries")
    if expect_entries is not None and len(entries) != expect_entries:
        problems.append(f"{len(entries)} entries, expected {expect_entries}")
    for i, entry in enumerate(entries):
        if not entry.get("title"):
            problems.append(f"entry {i} has no title")
        if not entry.get("id"):
            problems.append(f"entry {i} has no id")
        if not entry.get("link"):
            problems.append(f"entry {i} has no link")
    return problems, parsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--expect-entries", type=int, help="exact number of entries per feed")
    parser.add_argument("--hreflang", action="store_true", help="print the links with hreflang")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()

    xml_files = [f for f in args.files if not f.endswith(".json")]
    feedparser = None
    if xml_files:
        try:
            import feedparser
        except ImportError:
            print("pip install feedparser (the feedparser module cannot be imported)", file=sys.stderr)
            return SKIP

    failed = False
    for path in args.files:
        parsed = None
        if path.endswith(".json"):
            problems = check_json_feed(path, args.expect_entries)
        else:
            problems, parsed = check_xml_feed(feedparser, path, args.expect_entries)
        for problem in problems:
            print(f"{path}: {problem}")
        if problems:
            failed = True
        else:
            print(f"{path}: ok")
            if args.hreflang and parsed is not None:
                print(f"{path}: hreflang {json.dumps(hreflang_links(parsed), ensure_ascii=False)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
