"""Requests that `requests` cannot send: a request's line and headers alone, as a client starting an upload
sends them, to see what the server answers before any of the body comes."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit


def send_head_only(url: str, path: str, headers: dict[str, str], timeout: float = 60) -> tuple[int, str, bytes]:
    """POST `path` with `headers` and no body; answer (status, Content-Type, body). A server that waits for the
    body raises TimeoutError after `timeout` seconds."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        connection.putrequest("POST", path, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        answer = connection.getresponse()
        return answer.status, answer.getheader("Content-Type") or "", answer.read()
    finally:
        connection.close()
