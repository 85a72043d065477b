"""The lines of one hour blob of sightings (features/sightings.py), as the query reads them: each complete line
with its time, sorted by time, and kept per process while the blob's ETag stays the same, so that the pages of
an hour that no longer grows neither download nor sort it again."""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ..storage import BlobInfo, BlobNotFound, Storage
from ..storage.layout import SIGHTINGS_CONTAINER as CONTAINER

log = logging.getLogger(__name__)

# Lines are written with the frame's time first: its sort key is read without parsing the whole line.
LEADING_TIME = re.compile(rb'^\{"timeStamp":"([0-9T:.Z+-]{1,40})"')
TIME_TEXT = re.compile(r"[0-9T:.Z+-]{1,40}")  # an ISO time: never the continuation token's separator
MAX_CACHED_BYTES = 64 * 1024 * 1024  # about two busy hours of one camera (10 frames/s, 2 faces a frame)


@dataclass(frozen=True, order=True)
class SightingLine:
    """A frame's line, ordered by time, then blob and place in it (equal times keep one order)."""

    time: str
    blob: str
    offset: int
    data: bytes = field(compare=False)

    def faces(self) -> list[dict[str, Any]] | None:
        """The line's face rows; None when the line is damaged (not a record with a list of face objects)."""
        try:
            faces = json.loads(self.data)["faces"]
        except (ValueError, TypeError, KeyError, RecursionError):
            return None
        if not isinstance(faces, list) or not all(isinstance(f, dict) for f in faces):
            return None
        return faces


def line_key(line: SightingLine) -> tuple[str, str, int]:
    """A line's order as a tuple: made once a line, quicker to sort and merge by than the dataclass's own order."""
    return line.time, line.blob, line.offset


def warn_damaged(blob: str, offset: int) -> None:
    log.warning("The line at byte %d of %s/%s is damaged; left out of the sightings query.", offset, CONTAINER, blob)


class SortedLines:
    """Each hour blob's lines sorted by time, the most recently read first to stay, within MAX_CACHED_BYTES."""

    def __init__(self, max_bytes: int = MAX_CACHED_BYTES):
        self._max_bytes = max_bytes
        self._blobs: OrderedDict[tuple[int, str], tuple[str, list[SightingLine], int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def of(self, storage: Storage, info: BlobInfo) -> list[SightingLine]:
        where = (id(storage), info.name)  # a process's storages are made once (runtime.py) and kept
        with self._lock:
            cached = self._blobs.get(where)
            if cached and _same_version(cached[0], info.etag):
                self._blobs.move_to_end(where)
                return cached[1]
        try:
            blob = storage.get_blob(CONTAINER, info.name)
        except BlobNotFound:
            return []
        lines = sorted(_lines_of(info.name, blob.data), key=line_key)
        self._keep(where, blob.etag, lines, len(blob.data))
        return lines

    def clear(self) -> None:
        with self._lock:
            self._blobs.clear()
            self._bytes = 0

    def _keep(self, where: tuple[int, str], etag: str, lines: list[SightingLine], size: int) -> None:
        with self._lock:
            if (previous := self._blobs.pop(where, None)) is not None:
                self._bytes -= previous[2]
            if size > self._max_bytes:
                return
            while self._bytes + size > self._max_bytes:
                self._bytes -= self._blobs.popitem(last=False)[1][2]
            self._blobs[where] = (etag, lines, size)
            self._bytes += size


def _same_version(etag: str, other: str) -> bool:
    return etag.strip('"') == other.strip('"')  # a listing answers Azure's ETags without the quotes


def _lines_of(blob: str, data: bytes) -> list[SightingLine]:
    """The blob's complete lines (the last one may still be being written), with their times. A line right after
    the same line is read once: an append the SDK retried after its answer was lost (the block was committed)
    repeats the line."""
    lines, start, previous = [], 0, b""
    while (end := data.find(b"\n", start)) != -1:
        line = data[start:end]
        if line and line != previous:
            time = _time_of(line)
            if time is None:
                warn_damaged(blob, start)
            else:
                lines.append(SightingLine(time, blob, start, line))
        start, previous = end + 1, line
    return lines


def _time_of(line: bytes) -> str | None:
    """The line's timeStamp, read from its start as written; parsed from the whole line otherwise."""
    if match := LEADING_TIME.match(line):
        return match[1].decode("ascii")
    try:
        time = json.loads(line).get("timeStamp")
    except (ValueError, AttributeError, RecursionError):
        return None
    return time if isinstance(time, str) and TIME_TEXT.fullmatch(time) else None
