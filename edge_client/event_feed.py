"""The service's visit events as the edge side reads them: `GET /api/events?after=<cursor>`, one page at a time.
The client never imports the backend, so the event's shape is read here from its JSON (the service's
`VisitEvent.to_dict()`); the JSON itself is kept to be published as the service wrote it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from .backend import FaceBackend

log = logging.getLogger("edge_client")

STARTED, NAMED, ENDED = "visit.started", "visit.named", "visit.ended"
KINDS = (STARTED, NAMED, ENDED)
UNKNOWN = "Unknown"


class MalformedEvent(ValueError):
    pass


@dataclass(frozen=True)
class FeedEvent:
    event_id: str
    kind: str  # visit.started, visit.named or visit.ended
    time: str  # ISO 8601, UTC
    visit_id: str
    camera_id: str
    location: str | None
    person_group_id: str
    person_id: str | None  # None: Unknown
    name: str
    confidence: float
    last_seen: str | None
    closed: bool = False  # the visit is over (a visit.ended, or a visit a user named after it ended)
    merged_into: str | None = None  # visit.ended because the visit was merged into this one
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)  # as the service sent it

    @property
    def known(self) -> bool:
        return self.person_id is not None

    @classmethod
    def from_dict(cls, data: Any) -> FeedEvent:
        try:
            event = cls(
                event_id=str(data["id"]),
                kind=str(data["type"]),
                time=str(data["time"]),
                visit_id=str(data["visitId"]),
                camera_id=str(data["cameraId"]),
                location=data.get("location"),
                person_group_id=str(data["personGroupId"]),
                person_id=data.get("personId") or None,
                name=str(data.get("name") or UNKNOWN),
                confidence=float(data.get("confidence") or 0.0),
                last_seen=data.get("lastSeen"),
                closed=bool(data.get("closed")) or data.get("type") == ENDED,
                merged_into=data.get("mergedInto"),
                raw=dict(data),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise MalformedEvent(f"not a visit event ({type(exc).__name__}: {exc})") from None
        if event.kind not in KINDS:
            raise MalformedEvent(f"event {event.event_id}: unknown type {event.kind!r}")
        return event


@dataclass(frozen=True)
class EventsPage:
    events: tuple[FeedEvent, ...]
    next: str  # the cursor to read the events after these
    full: bool  # the page held as many events as asked: more may be waiting


def read_page(backend: FaceBackend, after: str | None, top: int) -> EventsPage:
    """The events after `after`; an event that cannot be read is left out with a warning (the cursor moves past
    it all the same: it would be as unreadable next time)."""
    answer = backend.events(after, top)
    rows = answer.get("events") or []
    events = []
    for row in rows:
        try:
            events.append(FeedEvent.from_dict(row))
        except MalformedEvent as exc:
            log.warning("events: %s: left out", exc)
    return EventsPage(tuple(events), str(answer.get("next") or after or ""), len(rows) >= top)
