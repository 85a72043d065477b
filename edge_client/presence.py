"""Who is where, from the visit events: each enrolled person's state (present while one of their visits is
open, where and when last seen) and each camera's (who is there now). What the MQTT topics retain; kept
as JSON between runs, so a restart continues from the same knowledge as the cursor it is saved with."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from .event_feed import UNKNOWN, FeedEvent


@dataclass(frozen=True)
class PersonState:
    person_id: str
    name: str
    present: bool = False  # one of their visits is open
    camera_id: str | None = None  # of their latest event
    location: str | None = None
    last_seen: str | None = None  # ISO 8601, UTC; None: not seen since the publisher began
    confidence: float | None = None
    visit_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "personId": self.person_id,
            "name": self.name,
            "present": self.present,
            "cameraId": self.camera_id,
            "location": self.location,
            "lastSeen": self.last_seen,
            "confidence": self.confidence,
            "visitId": self.visit_id,
        }


@dataclass(frozen=True)
class OpenVisit:
    camera_id: str
    person_id: str | None  # None: Unknown
    name: str


@dataclass(frozen=True)
class CameraState:
    camera_id: str
    names: tuple[str, ...]  # the named people there now, sorted
    unknown: int  # and how many Unknown visitors
    last_event: dict[str, Any] | None  # the camera's latest event, in brief

    def to_dict(self) -> dict[str, Any]:
        return {
            "cameraId": self.camera_id,
            "names": list(self.names),
            "unknown": self.unknown,
            "count": len(self.names) + self.unknown,
            "lastEvent": self.last_event,
        }


@dataclass(frozen=True)
class Changes:
    persons: frozenset[str] = frozenset()  # person ids whose state changed
    cameras: frozenset[str] = frozenset()
    unknown_persons: frozenset[str] = frozenset()  # named in events but not (yet) on the roster
    new_camera: str | None = None  # the event's camera, when it is the first event seen from it


def brief(event: FeedEvent) -> dict[str, Any]:
    return {
        "id": event.event_id,
        "type": event.kind,
        "time": event.time,
        "visitId": event.visit_id,
        "personId": event.person_id,
        "name": event.name,
    }


@dataclass
class Presence:
    persons: dict[str, PersonState] = field(default_factory=dict)  # the roster: every enrolled person
    open_visits: dict[str, OpenVisit] = field(default_factory=dict)
    camera_events: dict[str, dict[str, Any]] = field(default_factory=dict)  # each camera's latest event, in brief

    def camera(self, camera_id: str) -> CameraState:
        here = [v for v in self.open_visits.values() if v.camera_id == camera_id]
        names = tuple(sorted(v.name for v in here if v.person_id is not None))
        return CameraState(camera_id, names, len(here) - len(names), self.camera_events.get(camera_id))

    @property
    def cameras(self) -> list[str]:
        return sorted(self.camera_events)

    def apply(self, event: FeedEvent) -> Changes:
        """Take one event in; what changed. A visit renamed leaves its former person, merged or ended ones close."""
        before = self.open_visits.get(event.visit_id)
        if event.closed:  # ended, or named by a user after it ended: the person is not there any more
            self.open_visits.pop(event.visit_id, None)
        else:
            self.open_visits[event.visit_id] = OpenVisit(event.camera_id, event.person_id, event.name)
        new_camera = event.camera_id if event.camera_id not in self.camera_events else None
        self.camera_events[event.camera_id] = brief(event)
        changed = {p for p in (event.person_id, before.person_id if before else None) if p}
        for person_id in changed:
            self._update_person(person_id, event)
        strangers = frozenset(p for p in changed if p not in self.persons)
        for person_id in strangers:  # enrolled after the roster was read: kept until the next roster says
            self.persons[person_id] = PersonState(person_id, event.name if person_id == event.person_id else UNKNOWN)
            self._update_person(person_id, event)
        cameras = {event.camera_id} | ({before.camera_id} if before else set())
        return Changes(frozenset(changed), frozenset(cameras), strangers, new_camera)

    def _update_person(self, person_id: str, event: FeedEvent) -> None:
        state = self.persons.get(person_id)
        if state is None:
            return
        present = any(v.person_id == person_id for v in self.open_visits.values())
        if person_id != event.person_id:  # the visit was theirs and is now someone else's
            self.persons[person_id] = replace(state, present=present)
            return
        self.persons[person_id] = replace(
            state,
            name=event.name,
            present=present,
            camera_id=event.camera_id,
            location=event.location,
            last_seen=max(filter(None, (state.last_seen, event.last_seen or event.time)), default=None),
            confidence=event.confidence,
            visit_id=event.visit_id,
        )

    def set_roster(self, names: dict[str, str]) -> tuple[set[str], set[str]]:
        """The group's persons now (id -> name): answers (added or renamed, removed) person ids."""
        removed = set(self.persons) - set(names)
        for person_id in removed:
            del self.persons[person_id]
        changed = set()
        for person_id, name in names.items():
            state = self.persons.get(person_id)
            if state is None or state.name != name:
                self.persons[person_id] = replace(state, name=name) if state else PersonState(person_id, name)
                changed.add(person_id)
        return changed, removed

    def to_dict(self) -> dict[str, Any]:
        return {
            "persons": [p.to_dict() for p in self.persons.values()],
            "openVisits": {visit_id: asdict(v) for visit_id, v in self.open_visits.items()},
            "cameraEvents": self.camera_events,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Presence:
        persons = {
            p["personId"]: PersonState(
                p["personId"],
                p["name"],
                bool(p["present"]),
                p.get("cameraId"),
                p.get("location"),
                p.get("lastSeen"),
                p.get("confidence"),
                p.get("visitId"),
            )
            for p in data.get("persons", [])
        }
        visits = {visit_id: OpenVisit(**v) for visit_id, v in data.get("openVisits", {}).items()}
        return cls(persons, visits, dict(data.get("cameraEvents", {})))
