"""Dated sighting records: one JSON blob per frame with faces, one folder per UTC day, as the
prototype wrote them (`sightings/YYYYMMDD/mydata-YYYYMMDD_HHMMSS-<suffix>.json`), and the query
over them by day, person and camera, paged."""

from __future__ import annotations

import json
import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..clock import iso, utc_now
from ..errors import BadArgument, DamagedRecord
from ..storage import BlobNotFound, Storage
from ..storage.layout import SIGHTINGS_CONTAINER as CONTAINER
from ..storage.records import parse_record

log = logging.getLogger(__name__)

CAMERA_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")  # fullmatch: "$" alone passes "x\n"
DAY_PATTERN = re.compile(r"^\d{8}$")
MAX_LOCATION = 256
MAX_PAGE = 1000


def check_camera(camera: str | None) -> str:
    if not camera or not CAMERA_PATTERN.fullmatch(camera):
        raise BadArgument("'cameraId' is required: 1 to 64 letters, digits, '_', '-', '.' or ':'.")
    return camera


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
    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    @property
    def name(self) -> str:
        day, second = self.moment.strftime("%Y%m%d"), self.moment.strftime("%Y%m%d_%H%M%S")
        return f"{day}/mydata-{second}-{self.suffix}.json"

    def frame_fields(self) -> dict[str, Any]:
        return {
            "timeStamp": iso(self.moment),
            "location": self.location if self.location is not None else self.camera,
            "camera": self.camera,
            "personGroupId": self.person_group_id,
            "frameWidth": self.frame_width,
            "frameHeight": self.frame_height,
        }

    def to_dict(self) -> dict[str, Any]:
        frame = self.frame_fields()
        return {**frame, "faces": [{**face.to_dict(), **frame} for face in self.faces]}


def write_sighting(storage: Storage, record: SightingRecord) -> str:
    """Store the record; answer its path, `sightings/<day>/<file>`."""
    data = json.dumps(record.to_dict(), separators=(",", ":"), ensure_ascii=False).encode()
    storage.put_blob(CONTAINER, record.name, data, only_if_new=True)
    return f"{CONTAINER}/{record.name}"


@dataclass(frozen=True)
class SightingsPage:
    sightings: list[dict[str, Any]]
    continuation_token: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"sightings": self.sightings, "continuationToken": self.continuation_token}


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
    camera; at most `top` per page, the next page from `continuation_token`."""
    day = day or utc_now().strftime("%Y%m%d")
    if not DAY_PATTERN.fullmatch(day):
        raise BadArgument("'day' is invalid: use YYYYMMDD.")
    if not 1 <= top <= MAX_PAGE:
        raise BadArgument(f"'top' is invalid: use 1 to {MAX_PAGE}.")
    if camera:
        check_camera(camera)  # a camera no frame can have ("door\n") is a mistake, not an empty answer
    after_record, after_face = _parse_token(continuation_token, day)
    rows: list[dict[str, Any]] = []
    for info in storage.list_blobs(CONTAINER, f"{day}/"):
        if after_record and info.name < after_record:
            continue
        try:
            record = parse_record(storage.get_blob(CONTAINER, info.name).data, f"{CONTAINER}/{info.name}", _faces_of)
        except BlobNotFound:
            continue
        except DamagedRecord as damaged:  # one damaged record never hides the day's others
            log.warning("%s Left out of the sightings query.", damaged.message)
            continue
        if camera and record.get("camera") != camera:
            continue
        for i, face in enumerate(record["faces"]):
            if info.name == after_record and i <= after_face:
                continue
            if person_id and face.get("personId") != person_id:
                continue
            if len(rows) == top:
                return SightingsPage(rows, _token(info.name, i - 1))
            rows.append({**face, "record": f"{CONTAINER}/{info.name}"})
    return SightingsPage(rows, None)


def _faces_of(record: dict[str, Any]) -> dict[str, Any]:
    """A sighting record whose faces are JSON objects (what the query reads of it)."""
    faces = record.get("faces", [])
    if not isinstance(faces, list) or not all(isinstance(f, dict) for f in faces):
        raise TypeError("'faces' is not a list of objects")
    return {**record, "faces": faces}


def _token(record: str, face_index: int) -> str:
    return f"{record}#{face_index}"


def _parse_token(token: str | None, day: str) -> tuple[str | None, int]:
    if not token:
        return None, -1
    record, _, index = token.rpartition("#")
    if not record.startswith(f"{day}/") or not index.lstrip("-").isdigit():
        raise BadArgument("'continuationToken' is invalid for this query.")
    return record, int(index)
