#!/usr/bin/env python3
"""Prints twitter-text's weighted length of texts, with the Python port of twitter-text
(`twitter-text-parser`, https://pypi.org/project/twitter-text-parser/), for tests/x_count.rs.

    python3 tests/tools/x_count.py < texts.jsonl

Reads one JSON string per line on stdin and prints, per line, one JSON object:
{"length": <weightedLength>, "valid": <valid>}.

Exit status: 0 when every line was counted, 2 on a line that is not a JSON string, 77 when
twitter-text-parser is not installed (the caller decides whether that is a skip).
"""

import json
import sys

SKIP = 77


def main():
    try:
        from twitter_text import parse_tweet
    except ImportError as e:
        print(f"twitter-text-parser is not installed ({e}); pip install twitter-text-parser",
              file=sys.stderr)
        return SKIP
    out = sys.stdout
    for number, line in enumerate(sys.stdin, start=1):
        try:
            text = json.loads(line)
        except ValueError as e:
            print(f"line {number}: not JSON: {e}", file=sys.stderr)
            return 2
        if not isinstance(text, str):
            print(f"line {number}: not a JSON string", file=sys.stderr)
            return 2
        parsed = parse_tweet(text)
        out.write(json.dumps({"length": parsed.weightedLength, "valid": parsed.valid}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
