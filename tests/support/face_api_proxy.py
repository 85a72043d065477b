"""An HTTP proxy that makes a Face API server of this app answer two things as the Azure Face API
documents them, which cannot run here: throttling on demand (429, a `Retry-After` header in seconds,
the error envelope with code "429"), and, when given `entra_key`, Microsoft Entra sign-in (a bearer
token for Cognitive Services, unexpired, exchanged for that key upstream; else 401). Everything else
is forwarded to the real server."""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}
COGNITIVE_SERVICES = "https://cognitiveservices.azure.com"


def entra_claims(authorization: str | None) -> dict:
    """The claims of a bearer token (signatures are not checked: the tokens are the tests' own)."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme != "Bearer" or token.count(".") != 2:
        return {}
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class FaceApiProxy:
    def __init__(self, upstream: str, retry_after: int = 1, entra_key: str | None = None):
        self.upstream = upstream.rstrip("/")
        self.retry_after = retry_after
        self.entra_key = entra_key
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

            def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
                envelope = json.dumps({"error": {"code": str(status), "message": message}}).encode()
                self._send(status, {"Content-Type": "application/json", **(headers or {})}, envelope)

            def _relay(self) -> None:
                body = self._body()
                if proxy._take_throttle():
                    message = f"Rate limit is exceeded. Try again in {proxy.retry_after} seconds."
                    self._error(429, message, {"Retry-After": str(proxy.retry_after)})
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                if proxy.entra_key is not None:
                    claims = entra_claims(headers.pop("Authorization", None))
                    if claims.get("aud") != COGNITIVE_SERVICES or claims.get("exp", 0) <= time.time():
                        self._error(401, "Access denied: no valid Microsoft Entra token for Cognitive Services.")
                        return
                    headers["Ocp-Apim-Subscription-Key"] = proxy.entra_key
                answer = requests.request(
                    self.command, proxy.upstream + self.path, data=body, headers=headers, timeout=60
                )
                kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
                kept.pop("Content-Encoding", None)  # requests decoded the body
                self._send(answer.status_code, kept, answer.content)

            do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = _relay

        return Handler
