"""An HTTP proxy in front of a Face API server that throttles on demand as the Azure Face API
documents it: 429, a `Retry-After` header in seconds, and the error envelope with code "429".
Azure's throttling cannot run here; everything else is forwarded to the real server."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class ThrottlingProxy:
    def __init__(self, upstream: str, retry_after: int = 1):
        self.upstream = upstream.rstrip("/")
        self.retry_after = retry_after
        self.throttled = 0  # 429s answered so far
        self.forwarded = 0
        self._to_throttle = 0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def throttle(self, count: int) -> None:
        """Answer the next `count` requests with 429."""
        with self._lock:
            self._to_throttle = count

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _take_throttle(self) -> bool:
        with self._lock:
            if self._to_throttle > 0:
                self._to_throttle -= 1
                self.throttled += 1
                return True
            self.forwarded += 1
            return False

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args) -> None:
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":  # the SDK streams uploads
                    chunks = []
                    while size := int(self.rfile.readline().split(b";")[0], 16):
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    self.rfile.readline()
                    return b"".join(chunks)
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _relay(self) -> None:
                body = self._body()
                if proxy._take_throttle():
                    message = f"Rate limit is exceeded. Try again in {proxy.retry_after} seconds."
                    envelope = f'{{"error":{{"code":"429","message":"{message}"}}}}'.encode()
                    headers = {"Retry-After": str(proxy.retry_after), "Content-Type": "application/json"}
                    self._send(429, headers, envelope)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                answer = requests.request(
                    self.command, proxy.upstream + self.path, data=body, headers=headers, timeout=60
                )
                kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
                kept.pop("Content-Encoding", None)  # requests decoded the body
                self._send(answer.status_code, kept, answer.content)

            do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = _relay

        return Handler
