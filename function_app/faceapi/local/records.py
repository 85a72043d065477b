"""The checks and encoding of the records this machine's backend keeps in blobs, shared by the gallery
(groups, persons, their faces) and the face lists: the Face API's limits on names and userData, ids
that must be UUIDs, and compact JSON."""

from __future__ import annotations

import json
import uuid
from typing import Any

from ...errors import BadArgument

MAX_NAME = 128
MAX_USER_DATA = 16 * 1024  # of a group, person or list
MAX_FACE_USER_DATA = 1024  # of a persisted face


def check_text(value: str | None, what: str, limit: int, *, required: bool) -> None:
    """A name or userData: a string within `limit` characters; empty counts as absent."""
    if value is None or value == "":
        if required:
            raise BadArgument(f"{what} is required.")
        return
    if not isinstance(value, str):
        raise BadArgument(f"{what} must be a string.")
    if len(value) > limit:
        raise BadArgument(f"{what} is {len(value)} characters long; the limit is {limit}.")


def check_uuid(value: str, error: type[Exception], what: str) -> str:
    """The id in canonical form; an id that is no UUID names nothing, so it is `error` (not found)."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        raise error(f"{what} {value!r} is not found.") from None


def dump_json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
