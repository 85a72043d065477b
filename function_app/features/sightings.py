"""Per-frame records, the prototype's sightings, behind FRAME_RECORDS=on: each answered frame with faces is
one JSON line appended to `sightings/<YYYYMMDD>/<cameraId>/<HH>.jsonl`, a blob per camera per UTC hour (an
append blob on Azure Storage) instead of a blob per frame; and the query over a day's lines by person and
camera, ordered by time, paged."""

from __future__ import annotations

import bisect
import heapq
import itertools
import json
import re
import threading
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..clock import iso, utc_now
from ..errors import BadArgument
from ..storage import AppendBlobFull, BlobInfo, Storage
from ..storage.layout import SIGHTINGS_CONTAINER as CONTAINER
from .sighting_lines import TIME_TEXT, SightingLine, SortedLines, line_key, warn_damaged

CAMERA_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")  # fullmatch: "$" alone passes "x\n"
DAY_PATTERN = re.compile(r"^\d{8}$")
MAX_LOCATION = 256
MAX_PAGE = 1000
# <day>/<camera folder>/<HH>.jsonl, or <HH>.<part>.jsonl once an hour's blob took all the appends it can.
HOUR_BLOB = re.compile(r"^\d{8}/[^/]+/(?P<hour>\d{2})(?:\.\d+)?\.jsonl$")


def check_camera(camera: str | None) -> str:
    if not camera or not CAMERA_PATTERN.fullmatch(camera):
        raise BadArgument("'cameraId' is required: 1 to 64 letters, digits, '_', '-', '.' or ':'.")
    return camera


def camera_folder(camera: str) -> str:
    """The camera's folder: its id, with a leading '.' written '%2E' ('%' is not in camera ids), so that
    ids such as '.', '..' or '.lock' are plain folder names that every backend lists."""
    return "%2E" + camera[1:] if camera.startswith(".") else camera


@dataclass(frozen=True)
class SightedFace:
    face_rectangle: dict[str, int]
    person_id: str | None
    name: str
    confidence: float
    quality_for_recognition: str | None
    track_id: str | None = None
    visit_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "faceRectangle": self.face_rectangle,
            "personId": self.person_id,
            "name": self.name,
            "confidence": round(self.confidence, 5),
            "qualityForRecognition": self.quality_for_recognition,
            "trackId": self.track_id,
            "visitId": self.visit_id,
        }


@dataclass(frozen=True)
class SightingRecord:
    """One frame: where and when, and every face in it. Each face row repeats the frame's fields,
    as the prototype's rows did, so that a row read alone (e.g. by Spark) says everything."""

    camera: str
    person_group_id: str
    moment: datetime
    frame_width: int
    frame_height: int
    faces: list[SightedFace]
    location: str | None = None

    @property
    def hour_blob(self) -> str:
        """The blob of the frame's camera and UTC hour, in CONTAINER (before any part suffix)."""
        return f"{self.moment.strftime('%Y%m%d')}/{camera_folder(self.camera)}/{self.moment.strftime('%H')}"

    def frame_fields(self) -> dict[str, Any]:
        return {
            "timeStamp": iso(self.moment),  # first: the query sorts lines by it (sighting_lines.LEADING_TIME)
            "location": self.location if self.location is not None else self.camera,
            "camera": self.camera,
            "personGroupId": self.person_group_id,
            "frameWidth": self.frame_width,
            "frameHeight": self.frame_height,
        }

    def to_dict(self) -> dict[str, Any]:
        frame = self.frame_fields()
        return {**frame, "faces": [{**face.to_dict(), **frame} for face in self.faces]}


# A camera-hour's blob continues in `<HH>.1.jsonl`, `<HH>.2.jsonl`... past this size (about 6,000 frames of two faces)
# or past 50,000 appends (Azure's limit for an append blob; a camera answered up to 85,000 frames an hour). Azurite
# reads a blob of many small appends slowly (6 s for 16,000) and failed to read one of 36,000.
MAX_PART_BYTES = 4 * 1024 * 1024


class _HourParts:
    """Which part of each camera-hour this process appends to."""

    def __init__(self) -> None:
        self._parts: dict[str, int] = {}
        self._lock = threading.Lock()

    def current(self, hour_blob: str) -> int:
        with self._lock:
            return self._parts.get(hour_blob, 0)

    def full(self, hour_blob: str, part: int) -> None:
        with self._lock:
            if len(self._parts) > 10_000:  # past hours are never asked again
                self._parts.clear()
            self._parts[hour_blob] = max(self._parts.get(hour_blob, 0), part + 1)


_hour_parts = _HourParts()


def _part_name(hour_blob: str, part: int) -> str:
    return f"{hour_blob}.jsonl" if part == 0 else f"{hour_blob}.{part}.jsonl"


def write_sighting(storage: Storage, record: SightingRecord) -> str:
    """Append the record as one line; answer where it is, `sightings/<day>/<camera>/<HH>.jsonl#<byte offset>`."""
    line = json.dumps(record.to_dict(), separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
    part = _hour_parts.current(record.hour_blob)
    while True:
        name = _part_name(record.hour_blob, part)
        try:
            offset = storage.append_blob(CONTAINER, name, line, max_size=max(MAX_PART_BYTES, len(line)))
        except AppendBlobFull:
            _hour_parts.full(record.hour_blob, part)
            part += 1
            continue
        return _row_record(name, offset)


def _row_record(blob: str, offset: int) -> str:
    return f"{CONTAINER}/{blob}#{offset}"


@dataclass(frozen=True)
class SightingsPage:
    sightings: list[dict[str, Any]]
    continuation_token: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"sightings": self.sightings, "continuationToken": self.continuation_token}


@dataclass(frozen=True, order=True)
class _RowKey:
    """A face row's place in the day: by time, then blob, line and face, so that equal times keep one order.
    The continuation token is the last row's key: still valid however the blobs grow."""

    time: str
    blob: str
    offset: int
    face: int

    def token(self) -> str:
        return f"{self.time}~{self.blob}~{self.offset}~{self.face}"

    @staticmethod
    def parse(token: str, day: str) -> _RowKey:
        parts = token.split("~")
        if (
            len(parts) != 4
            or not TIME_TEXT.fullmatch(parts[0])
            or not (HOUR_BLOB.fullmatch(parts[1]) and parts[1].startswith(f"{day}/"))
            or not all(p.isdigit() for p in parts[2:])
        ):
            raise BadArgument("'continuationToken' is invalid for this query.")
        return _RowKey(parts[0], parts[1], int(parts[2]), int(parts[3]))


def query_sightings(
    storage: Storage,
    *,
    day: str | None = None,
    person_id: str | None = None,
    camera: str | None = None,
    top: int = 100,
    continuation_token: str | None = None,
) -> SightingsPage:
    """Faces seen on one UTC day (today by default), oldest first, optionally of one person or one
    camera; at most `top` per page, the next page from `continuation_token`. Reads only the hours from
    the token's on, one hour (its blobs of every camera asked, merged by time) at a time."""
    day = day or utc_now().strftime("%Y%m%d")
    if not DAY_PATTERN.fullmatch(day):
        raise BadArgument("'day' is invalid: use YYYYMMDD.")
    if not 1 <= top <= MAX_PAGE:
        raise BadArgument(f"'top' is invalid: use 1 to {MAX_PAGE}.")
    if camera:
        check_camera(camera)  # a camera no frame can have ("door\n") is a mistake, not an empty answer
    after = _RowKey.parse(continuation_token, day) if continuation_token else None
    prefix = f"{day}/{camera_folder(camera)}/" if camera else f"{day}/"
    needle = person_id.encode() if person_id else None  # most lines are left out without being parsed
    rows: list[dict[str, Any]] = []
    last: _RowKey | None = None
    for hour, blobs in sorted(_blobs_by_hour(storage, prefix).items()):
        if after and hour < _hour_of(after.blob):
            continue
        tails = [_lines_from(SORTED_LINES.of(storage, blob), after) for blob in blobs]
        for line in heapq.merge(*tails, key=line_key):
            if needle and needle not in line.data:
                continue
            faces = line.faces()
            if faces is None:  # one damaged line never hides the day's others
                warn_damaged(line.blob, line.offset)
                continue
            for i, face in enumerate(faces):
                key = _RowKey(line.time, line.blob, line.offset, i)
                if (after and key <= after) or (person_id and face.get("personId") != person_id):
                    continue
                if len(rows) == top:
                    return SightingsPage(rows, last.token() if last else None)
                rows.append({**face, "record": _row_record(line.blob, line.offset)})
                last = key
    return SightingsPage(rows, None)


SORTED_LINES = SortedLines()  # the process's: what a page read, the next page of the same hour finds


def _lines_from(lines: list[SightingLine], after: _RowKey | None) -> Iterator[SightingLine]:
    """The lines from the token's line on (that line too: its later faces are still to come)."""
    start = 0
    if after:
        start = bisect.bisect_left(lines, (after.time, after.blob, after.offset), key=line_key)
    return itertools.islice(lines, start, None)


def _hour_of(blob: str) -> str:
    match = HOUR_BLOB.fullmatch(blob)
    return match["hour"] if match else ""


def _blobs_by_hour(storage: Storage, prefix: str) -> dict[str, list[BlobInfo]]:
    """The day's hour blobs under `prefix`, by UTC hour (blobs of the per-frame layout before this one are
    not read)."""
    hours: dict[str, list[BlobInfo]] = defaultdict(list)
    for info in storage.list_blobs(CONTAINER, prefix):
        if hour := _hour_of(info.name):
            hours[hour].append(info)
    return hours
