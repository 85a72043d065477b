"""Request parameters read the way the Face API reads them, with its error messages."""

from __future__ import annotations

from typing import Any

from ..errors import BadArgument


def check_model(value: Any, allowed: tuple[str, ...], name: str) -> None:
    if value is not None and (not isinstance(value, str) or value.strip().lower() not in allowed):
        raise BadArgument(f"'{name}' is invalid: use one of {', '.join(allowed)}.")


def parse_bool(value: str | None, name: str, *, default: bool) -> bool:
    if value is None or value == "":
        return default
    if value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise BadArgument(f"'{name}' is invalid: use true or false.")


def _number(value: Any, name: str, kind: type, what: str) -> Any:
    if isinstance(value, bool):
        raise BadArgument(f"'{name}' is invalid: expected {what}.")
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise BadArgument(f"'{name}' is invalid: expected {what}.") from None


def parse_int(value: Any, name: str, *, default: int) -> int:
    return default if value is None or value == "" else _number(value, name, int, "an integer")


def parse_float(value: Any, name: str) -> float | None:
    return None if value is None else _number(value, name, float, "a number")
