"""The app's HTTP functions as a WSGI application: each request becomes the same
`func.HttpRequest` the Functions host would pass, and the function's `func.HttpResponse` is sent
back. The WSGI server (waitress) handles Content-Length and chunked request bodies alike."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus
from urllib.parse import parse_qsl

import azure.functions as func

from .routes import Router

log = logging.getLogger("function_app.local_host")
# (code, message) of the answers the host makes itself, whether the app or the WSGI server does.
TOO_LARGE = ("InvalidImageSize", "The request body is too large.")
INTERNAL_ERROR = ("InternalServerError", "The server failed to handle the request.")


def error_body(code: str, message: str) -> bytes:
    """The Face API's error envelope."""
    return json.dumps({"error": {"code": code, "message": message}}).encode()


def _error(start_response: Callable, status: int, code: str, message: str) -> list[bytes]:
    start_response(f"{status} {HTTPStatus(status).phrase}", [("Content-Type", "application/json")])
    return [error_body(code, message)]


def _headers(environ: dict) -> dict[str, str]:
    headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").title()] = environ[key]
    return headers


class FunctionsWsgiApp:
    def __init__(self, router: Router, max_body: int):
        self.router = router
        self.max_body = max_body

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO") or "/"
        match = self.router.match(method, path)
        if match is None:
            return _error(start_response, 404, "ResourceNotFound", f"No API at {path}; see /api/openapi.json.")
        if match.function is None:
            return _error(start_response, 405, "MethodNotAllowed", f"{method} is not allowed on {path}.")
        body = environ["wsgi.input"].read(self.max_body + 1)
        if len(body) > self.max_body:
            return _error(start_response, 413, *TOO_LARGE)
        query = environ.get("QUERY_STRING", "")
        host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
        request = func.HttpRequest(
            method,
            f"{environ['wsgi.url_scheme']}://{host}{path}" + (f"?{query}" if query else ""),
            headers=_headers(environ),
            params=dict(parse_qsl(query, keep_blank_values=True)),
            route_params=match.route_params,
            body=body,
        )
        try:
            response = match.function.get_user_function()(request)
        except Exception:
            log.exception("Unhandled error in %s", match.function.get_function_name())
            return _error(start_response, 500, *INTERNAL_ERROR)
        status = response.status_code
        headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-type"]
        headers.append(
            ("Content-Type", response.mimetype + (f"; charset={response.charset}" if response.charset else ""))
        )
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [response.get_body()]
