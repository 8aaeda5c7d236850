#!/usr/bin/env python3
"""A static file server on 127.0.0.1 for the remote-source benchmark.

Usage: serve.py DIR LOG [--no-validators]

Prints the port it listens on, then serves DIR. Every request is appended to LOG as
"METHOD PATH STATUS". With validators (the default) responses carry an ETag and
Last-Modified, and a matching If-None-Match or If-Modified-Since gets 304, as a CMS behind a
cache does; with --no-validators every GET is a full 200, as many CMS APIs do.
"""
import email.utils
import functools
import http.server
import os
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    validators = True
    log_path = None

    def send_head(self):
        path = self.translate_path(self.path)
        if self.validators and os.path.isfile(path):
            st = os.stat(path)
            etag = f'"{st.st_mtime_ns:x}-{st.st_size:x}"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return None
            self._etag = etag
        return super().send_head()

    def end_headers(self):
        etag = getattr(self, "_etag", None)
        if etag and self.validators:
            self.send_header("ETag", etag)
        super().end_headers()

    def send_header(self, keyword, value):
        # Without validators, hide Last-Modified so that no conditional request is possible.
        if not self.validators and keyword.lower() == "last-modified":
            return
        super().send_header(keyword, value)

    def log_request(self, code="-", size="-"):
        with open(self.log_path, "a") as log:
            log.write(f"{self.command} {self.path} {int(code)}\n")

    def log_message(self, *args):
        pass


def main():
    root, log = sys.argv[1], sys.argv[2]
    Handler.validators = "--no-validators" not in sys.argv
    Handler.log_path = os.path.abspath(log)
    handler = functools.partial(Handler, directory=root)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
