"""The API key check every route makes: `Ocp-Apim-Subscription-Key` (as the Face API and its SDK
send it) or `x-functions-key` (as Azure Functions clients send it)."""

from __future__ import annotations

import hmac
from collections.abc import Callable

from ..errors import Unauthorized
from ..settings import Settings

KEY_HEADERS = ("Ocp-Apim-Subscription-Key", "x-functions-key")


def configured_keys(settings: Settings) -> list[str]:
    return [k.strip() for k in settings.api_keys.split(",") if k.strip()]


def check_key(settings: Settings, header: Callable[[str], str | None], *, bearer: bool = False) -> None:
    """Raise Unauthorized unless a key header carries one of the configured keys (with `bearer`, also
    `Authorization: Bearer <key>`, which is what Prometheus can send). Compared in constant time; the key
    itself is never logged or echoed."""
    keys = configured_keys(settings)
    if not keys:
        raise Unauthorized("Access denied: the server has no FACE_API_KEY configured.")
    given = [header(name) for name in KEY_HEADERS]
    if bearer:
        scheme, _, token = (header("Authorization") or "").partition(" ")
        given.append(token.strip() if scheme.lower() == "bearer" else None)
    for candidate in filter(None, given):
        if any(hmac.compare_digest(candidate.encode(), key.encode()) for key in keys):
            return
    if not any(given):
        raise Unauthorized("Access denied due to a missing key: send it in the Ocp-Apim-Subscription-Key header.")
    raise Unauthorized("Access denied due to an invalid key: check the key and the API endpoint.")
