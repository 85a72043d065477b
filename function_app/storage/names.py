"""Blob names and prefixes checked once, for every backend: a name is a relative, '/'-separated
path with no '..', '.', empty or hidden-by-us parts, no backslash, no control character (NUL,
newline) and at most Azure's 1,024 characters. The local folder backend then joins only checked
names under its root (`confined`), so no name can reach outside it."""

from __future__ import annotations

import os
from pathlib import Path

MAX_NAME = 1024  # Azure Storage's limit for a blob name
_FORBIDDEN_PARTS = ("", ".", "..")


class InvalidBlobName(ValueError):
    pass


def check_blob_name(name: str, *, what: str = "blob name") -> str:
    """`name` if it is a safe blob name; InvalidBlobName otherwise."""
    if not isinstance(name, str) or not name or len(name) > MAX_NAME:
        raise InvalidBlobName(f"Invalid {what} {name!r}: 1 to {MAX_NAME} characters.")
    if "\\" in name or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidBlobName(f"Invalid {what} {name!r}: no backslash or control character.")
    if any(part in _FORBIDDEN_PARTS for part in name.split("/")):
        raise InvalidBlobName(f"Invalid {what} {name!r}: no absolute path, empty, '.' or '..' part.")
    return name


def check_prefix(prefix: str) -> str:
    """A listing prefix: empty, or a blob name's beginning (it may end with '/')."""
    if prefix:
        check_blob_name(prefix[:-1] if prefix.endswith("/") else prefix, what="prefix")
    return prefix


def confined(root: Path, name: str) -> Path:
    """`root / name` for a checked name, refusing anything that would resolve outside `root` (a symbolic
    link planted inside it, say)."""
    path = root.joinpath(*check_blob_name(name).split("/"))
    if not Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root)):
        raise InvalidBlobName(f"Invalid blob name {name!r}: it leads outside its container.")
    return path
