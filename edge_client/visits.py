"""The run's visits: the answers' faces gathered by their visit id, so that a run reports who came (one
line a visit, with its name and its first and last frame) rather than how many frames named them.

The backend decides what a visit is (a track named from its frames; a person's tracks on one camera joined
while the visit is open); the client only counts what it was answered. A face without a visit id (a track's
first frames, or a backend without tracking) belongs to no visit."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .results import Answer, RecognizedFace

SHORT_ID = 6  # the characters of a visit id drawn on the video: its last hex digits


def short_visit_id(visit_id: str) -> str:
    return visit_id[-SHORT_ID:]


@dataclass
class VisitSummary:
    visit_id: str
    name: str  # the latest name the visit was answered with
    person_id: str | None
    confidence: float  # the latest answer's
    first_frame: int
    last_frame: int
    first_seen: str  # capturedAt of the first and last frames it was in
    last_seen: str
    frames: int = 0  # answered frames it was in
    names: list[str] = field(default_factory=list)  # every name it had, in order (renamed as evidence grew)
    track_ids: list[str] = field(default_factory=list)

    def add(self, answer: Answer, face: RecognizedFace) -> None:
        self.frames += 1
        self.name, self.person_id, self.confidence = face.name, face.person_id, face.confidence
        if not self.names or self.names[-1] != face.name:
            self.names.append(face.name)
        if face.track_id and face.track_id not in self.track_ids:
            self.track_ids.append(face.track_id)
        self.last_frame, self.last_seen = answer.frame_index, answer.captured_at_iso  # answers come in order

    def to_dict(self) -> dict[str, Any]:
        return {
            "visitId": self.visit_id,
            "name": self.name,
            "personId": self.person_id,
            "confidence": round(self.confidence, 5),
            "firstFrame": self.first_frame,
            "lastFrame": self.last_frame,
            "firstSeen": self.first_seen,
            "lastSeen": self.last_seen,
            "frames": self.frames,
            "names": self.names,
            "trackIds": self.track_ids,
        }

    def line(self) -> str:
        named = f"{self.name} {self.confidence:.2f}" if self.person_id else self.name
        earlier = f" (before: {', '.join(self.names[:-1])})" if len(self.names) > 1 else ""
        return (
            f"{self.visit_id} {named}{earlier}: frames {self.first_frame}-{self.last_frame} "
            f"({self.frames} answered), {len(self.track_ids)} track(s)"
        )


class VisitTally:
    """Visits by id, from the answers in the order they came."""

    def __init__(self) -> None:
        self._visits: dict[str, VisitSummary] = {}
        self.answers = 0
        self.faces = 0
        self.faces_without_visit = 0

    def add(self, answer: Answer) -> None:
        self.answers += 1
        for face in answer.result.faces:
            self.faces += 1
            if face.visit_id is None:
                self.faces_without_visit += 1
                continue
            visit = self._visits.get(face.visit_id)
            if visit is None:
                at, when = answer.frame_index, answer.captured_at_iso
                visit = VisitSummary(face.visit_id, face.name, face.person_id, face.confidence, at, at, when, when)
                self._visits[face.visit_id] = visit
            visit.add(answer, face)

    @property
    def visits(self) -> list[VisitSummary]:
        """Oldest first."""
        return sorted(self._visits.values(), key=lambda v: (v.first_seen, v.visit_id))

    def summary(self) -> list[str]:
        """The lines printed at the end of a run."""
        visits = self.visits
        head = (
            f"visits: {len(visits)} in {self.answers} answered frames "
            f"({self.faces} faces, {self.faces_without_visit} not in a visit yet)"
        )
        if self.faces and not visits:
            head += "; no face had a visit id (a backend without tracking, or no track was long enough)"
        return [head, *(f"  {visit.line()}" for visit in visits)]

    def write(self, path: Path) -> None:
        """One JSON line a visit, oldest first."""
        with open(path, "w", encoding="utf-8") as out:
            for visit in self.visits:
                out.write(json.dumps(visit.to_dict(), separators=(",", ":")) + "\n")
