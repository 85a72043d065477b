"""The one place HTTP meets the core: key check, request parsing, and the mapping of results and
domain errors to responses in the Face API's envelope. Handlers never answer a stack trace."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import azure.functions as func

from ..errors import BadArgument, FaceApiError, InvalidURL
from ..image_urls import fetch_image
from ..runtime import Runtime, current_runtime
from .auth import check_key
from .params import parse_int

log = logging.getLogger("function_app.api")

Handler = Callable[[func.HttpRequest, Runtime], func.HttpResponse]
INTERNAL_ERROR = "InternalServerError"  # the code of an unexpected failure's answer (500)


def json_response(data: Any, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(data, ensure_ascii=False), status_code=status, mimetype="application/json")


def empty_response(status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(b"", status_code=status)


def error_response(code: str, message: str, status: int) -> func.HttpResponse:
    return json_response({"error": {"code": code, "message": message}}, status)


def endpoint(
    blueprint: func.Blueprint, name: str, route: str, method: str, *, bearer: bool = False
) -> Callable[[Handler], Handler]:
    """Register `handler(req, runtime)` as the HTTP function `name`: it runs after the key check (`bearer`: the
    key may also come as `Authorization: Bearer`), and its domain errors become the Face API error envelope."""

    def register(handler: Handler) -> Handler:
        @blueprint.function_name(name)
        @blueprint.route(route=route, methods=[method], auth_level=func.AuthLevel.ANONYMOUS)
        def http_function(req: func.HttpRequest) -> func.HttpResponse:
            return respond(handler, req, bearer=bearer)

        return handler

    return register


def respond(handler: Handler, req: func.HttpRequest, *, bearer: bool = False) -> func.HttpResponse:
    try:
        runtime = current_runtime()
        check_key(runtime.settings, req.headers.get, bearer=bearer)
        return handler(req, runtime)
    except FaceApiError as exc:
        response = error_response(exc.code, exc.message, exc.status)
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except Exception:
        log.exception("Unexpected error in %s %s", req.method, req.url.split("?")[0])
        return error_response(INTERNAL_ERROR, "The server failed to handle the request; it is logged.", 500)


def json_body(req: func.HttpRequest, *, required: bool = True) -> dict[str, Any]:
    body = req.get_body()
    if not body:
        if required:
            raise BadArgument("Request body is invalid: a JSON object is expected.")
        return {}
    try:
        data = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested thousands deep
        raise BadArgument("JSON parsing error.") from None
    if not isinstance(data, dict):
        raise BadArgument("Request body is invalid: a JSON object is expected.")
    return data


def _refuse_constant(name: str) -> Any:
    """Python reads `NaN`, `Infinity` and `-Infinity`; JSON has no such numbers."""
    raise ValueError(f"{name} is not JSON")


T = TypeVar("T")


def body_field(body: dict[str, Any], name: str, kind: type[T], default: T) -> T:
    """A JSON body's field of one JSON type (absent or null: `default`), or BadArgument naming it."""
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise BadArgument(f"'{name}' is invalid: expected {_JSON_TYPES.get(kind, kind.__name__)}.")
    return value


_JSON_TYPES: dict[type, str] = {str: "a string", bool: "true or false", int: "an integer", list: "a list"}


def image_body(req: func.HttpRequest) -> bytes:
    """The image of a request: the bytes of an `application/octet-stream` body, or those at the URL
    of a JSON body `{"url": ...}`, fetched as image_urls.py allows."""
    content_type = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type == "application/json":
        url = json_body(req).get("url")
        if not isinstance(url, str) or not url:
            raise InvalidURL("Invalid image URL: the JSON body needs a 'url'.")
        return fetch_image(url, current_runtime().settings)
    return req.get_body()


def param(req: func.HttpRequest, name: str) -> str | None:
    """A query parameter, matched without regard to case as Azure does."""
    if name in req.params:
        return req.params[name]
    lowered = name.lower()
    return next((v for k, v in req.params.items() if k.lower() == lowered), None)


def top_param(req: func.HttpRequest, limit: int = 1000) -> int:
    top = parse_int(param(req, "top"), "top", default=limit)
    if not 1 <= top <= limit:
        raise BadArgument(f"'top' is invalid: use 1 to {limit}.")
    return top


def required_param(req: func.HttpRequest, name: str) -> str:
    value = param(req, name)
    if not value:
        raise BadArgument(f"'{name}' is required.")
    return value
