"""A real HTTP server on loopback serving the test photos, for image URLs: the files of a folder, and
a few answers a photo host may give (a redirect, a page that is not an image, a slow answer)."""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


class _Handler(SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        if parts.path == "/redirect":  # /redirect?to=URL
            self.send_response(302)
            self.send_header("Location", query["to"][0])
            self.end_headers()
        elif parts.path == "/page.html":
            self._answer(b"<html>not a photo</html>", "text/html")
        elif parts.path == "/slow":  # /slow?seconds=N: headers at once, the body after N seconds
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.end_headers()
            time.sleep(float(query["seconds"][0]))
            self.wfile.write(b"x")
        else:
            super().do_GET()

    def _answer(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def photo_server(folder: Path) -> Iterator[str]:
    """The server's base URL, http://127.0.0.1:PORT, while the context lasts."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(folder)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
