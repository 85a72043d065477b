"""A webhook receiver as a user writes one: a real HTTP server on loopback that checks each delivery's
signature with its secret (as the README shows) and records what came. The path says how it answers:
`/ok`, `/fails/<n>` (500 to an event's first n tries, then 200), `/down` (always 500), `/slow` (200 after
SLOW_SECONDS)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SECRET = "receiver-secret-not-for-logs"
SLOW_SECONDS = 2.0


def signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return header is not None and hmac.compare_digest(expected, header)


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered
    signed: bool  # the signature checked out with SECRET

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


class Receiver:
    def __init__(self, url: str):
        self.url = url
        self.received: list[Received] = []
        self.lock = threading.Lock()

    def on(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def answered(self, path: str, event_id: str) -> list[Received]:
        return [r for r in self.on(path) if r.headers.get("X-Event-Id") == event_id]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            event_id = self.headers.get("X-Event-Id", "")
            with receiver.lock:
                tries = sum(
                    1 for r in receiver.received if r.path == self.path and r.headers.get("X-Event-Id") == event_id
                )
                status = 200
                if self.path == "/down" or (self.path.startswith("/fails/") and tries < int(self.path.split("/")[2])):
                    status = 500
                signed = signature_valid(SECRET, body, self.headers.get("X-Signature-256"))
                receiver.received.append(Received(self.path, dict(self.headers.items()), body, status, signed))
            if self.path == "/slow":
                time.sleep(SLOW_SECONDS)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextlib.contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    receiver = Receiver("")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
