"""The visit event: what happened to a visit, when, and the visit as it was then."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..clock import iso, parse_iso
from ..visits.records import VisitRecord

STARTED = "visit.started"
NAMED = "visit.named"
ENDED = "visit.ended"
KINDS = (STARTED, NAMED, ENDED)


def new_event_id() -> str:
    return f"e{uuid.uuid4().hex}"


@dataclass(frozen=True)
class VisitEvent:
    event_id: str  # unique: receivers drop a repeated delivery by it
    kind: str  # one of KINDS
    time: datetime  # when it happened: the frame's time, or when the visit was closed or named
    visit: VisitRecord
    merged_into: str | None = None  # visit.ended of a visit that became part of another (the same visitor)

    def to_dict(self) -> dict[str, Any]:
        visit = self.visit.to_dict()
        data: dict[str, Any] = {"id": self.event_id, "type": self.kind, "time": iso(self.time)}
        data.update(visit)
        data["snapshot"] = f"/api/visits/{self.visit.visit_id}/snapshot" if self.visit.snapshot else None
        if self.merged_into is not None:
            data["mergedInto"] = self.merged_into
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VisitEvent:
        visit = VisitRecord.from_dict({**data, "snapshot": None})
        if data.get("snapshot") is not None:  # its place in storage follows from the visit's id
            visit = visit.with_snapshot()
        merged_into = data.get("mergedInto")
        return cls(
            event_id=str(data["id"]),
            kind=str(data["type"]),
            time=parse_iso(data["time"]),
            visit=visit,
            merged_into=None if merged_into is None else str(merged_into),
        )
