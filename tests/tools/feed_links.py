#!/usr/bin/env python3
"""Reads RSS and Atom files with Python's feedparser, as a reader following RFC 5005 links
would: one JSON string a line on standard input (a feed file's path), one JSON object a line on
standard output:

    {"bozo": false, "archive": true, "links": {"prev-archive": "https://…"}, "ids": ["…"]}

`archive` says whether feedparser saw `fh:archive`; `links` maps each feed-level link relation
to its href; `ids` are the entries' ids in the file's order.

Exit status 77 when feedparser is not installed (the caller decides whether that is a skip).
"""

import json
import sys

SKIP = 77


def main():
    try:
        import feedparser
    except ImportError:
        print("pip install feedparser (the feedparser module cannot be imported)", file=sys.stderr)
        return SKIP
    for line in sys.stdin:
        path = json.loads(line)
        parsed = feedparser.parse(path)
        links = {link.get("rel"): link.get("href") for link in parsed.feed.get("links", [])}
        answer = {
            "bozo": bool(parsed.bozo),
            "archive": "fh_archive" in parsed.feed,
            "links": links,
            "ids": [entry.get("id") for entry in parsed.entries],
        }
        print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
