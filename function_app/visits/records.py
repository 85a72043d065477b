"""The stored visit: one JSON record per visit in the dated layout, `visits/<YYYYMMDD>/<visitId>.json`,
the best face of the visit beside it as `<visitId>.jpg` (the day is the UTC day the visit began).

A visit is written when it opens, again when its name or snapshot changes and now and then while it
lasts (its last-seen time and frame count), and a last time when it closes. Its id sorts by the time it
began, so that a listing of a day's folder is in time order."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ..clock import iso, parse_iso
from ..models import UNKNOWN
from ..storage.layout import VISITS_CONTAINER

SNAPSHOT_SUFFIX = ".jpg"
RECORD_SUFFIX = ".json"
NAMED_BY_USER = "user"


def new_visit_id(first_seen: datetime) -> str:
    """`v<YYYYMMDDTHHMMSSmmm>-<12 hex>`: sorts by the time the visit began; no path characters."""
    stamp = first_seen.strftime("%Y%m%dT%H%M%S") + f"{first_seen.microsecond // 1000:03d}"
    return f"v{stamp}-{secrets.token_hex(6)}"


def day_of(visit_id: str) -> str:
    """The UTC day folder of a visit id (YYYYMMDD)."""
    return visit_id[1:9]


@dataclass(frozen=True)
class VisitRecord:
    visit_id: str
    camera: str
    location: str  # the camera's location, or the camera id when none was given
    person_group_id: str
    person_id: str | None  # None: Unknown
    name: str
    confidence: float  # the fused evidence for the person (0 when Unknown)
    first_seen: datetime
    last_seen: datetime
    frames: int  # frames in which the visitor was seen
    closed: bool
    snapshot: str | None  # `visits/<day>/<visitId>.jpg`, when one was written
    named_by: str | None = None  # NAMED_BY_USER: a person chose the name later (visits/naming.py); None: the tracker

    @property
    def day(self) -> str:
        return day_of(self.visit_id)

    @property
    def blob_name(self) -> str:
        """In VISITS_CONTAINER."""
        return f"{self.day}/{self.visit_id}{RECORD_SUFFIX}"

    @property
    def snapshot_blob_name(self) -> str:
        return f"{self.day}/{self.visit_id}{SNAPSHOT_SUFFIX}"

    @property
    def unknown(self) -> bool:
        return self.person_id is None

    def with_snapshot(self) -> VisitRecord:
        return replace(self, snapshot=f"{VISITS_CONTAINER}/{self.snapshot_blob_name}")

    def to_dict(self) -> dict[str, Any]:
        data = {
            "visitId": self.visit_id,
            "cameraId": self.camera,
            "location": self.location,
            "personGroupId": self.person_group_id,
            "personId": self.person_id,
            "name": self.name,
            "confidence": round(self.confidence, 5),
            "firstSeen": iso(self.first_seen),
            "lastSeen": iso(self.last_seen),
            "frames": self.frames,
            "closed": self.closed,
            "snapshot": self.snapshot,
        }
        if self.named_by is not None:  # absent otherwise, as in the records written before it existed
            data["namedBy"] = self.named_by
        return data

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> VisitRecord:
        person_id = record["personId"]
        return cls(
            visit_id=str(record["visitId"]),
            camera=str(record["cameraId"]),
            location=str(record["location"]),
            person_group_id=str(record["personGroupId"]),
            person_id=None if person_id is None else str(person_id),
            name=str(record["name"]) if person_id is not None else UNKNOWN,
            confidence=float(record["confidence"]),
            first_seen=parse_iso(record["firstSeen"]),
            last_seen=parse_iso(record["lastSeen"]),
            frames=int(record["frames"]),
            closed=bool(record["closed"]),
            snapshot=None if record.get("snapshot") is None else str(record["snapshot"]),
            named_by=None if record.get("namedBy") is None else str(record["namedBy"]),
        )
