"""JSON records read back from storage, one blob at a time: a blob that is not the record it should be
(truncated, overwritten, hand-edited) raises DamagedRecord naming it, so a caller can skip it or answer a
clear error, instead of failing everything that lists it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import DamagedRecord

T = TypeVar("T")


def parse_record(data: bytes, where: str, build: Callable[[dict[str, Any]], T], *, repair: str = "") -> T:
    """`build(the JSON object in data)`; DamagedRecord naming `where` (container/blob) if either step fails."""
    try:
        record = json.loads(data)
        if not isinstance(record, dict):
            raise ValueError("not a JSON object")
        return build(record)
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError, RecursionError) as exc:
        reason = f"{type(exc).__name__}: {exc}" if not isinstance(exc, KeyError) else f"no field {exc}"
        advice = f" {repair}" if repair else ""
        raise DamagedRecord(f"The stored record {where} is damaged ({reason[:200]}).{advice}") from None


def as_dict(record: dict[str, Any]) -> dict[str, Any]:
    return record
