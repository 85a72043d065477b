"""Tracks into visits. A track opens a visit once it has had the identified frames that may name it (a
detector's one-frame mistake opens none, and a known person's visit opens named). A track named as
somebody who has an open visit at this camera joins that visit, so a person who turned away and came back
is one visit, named once; a track renamed moves to its person's visit, and a visit left with no track is
merged with it (the one that began first stays; the other is deleted: it was open, and shown as somebody
else or Unknown, only for the seconds the evidence took). A visit closes after `close_after` seconds
unseen. A visit's record is written when it opens, when its name or snapshot changes, every `write_every`
seconds while it is seen, and when it closes."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from ..visits.records import VisitRecord, new_visit_id
from .state import CameraState, OpenVisit, Track


@dataclass
class VisitChanges:
    """What a frame (or the closing timer) did to the camera's visits: the records to write and delete."""

    write: list[OpenVisit] = field(default_factory=list)
    delete: list[VisitRecord] = field(default_factory=list)
    merged: list[Merge] = field(default_factory=list)  # the deleted visits that became part of another

    def to_write(self, visit: OpenVisit) -> None:
        if all(v is not visit for v in self.write):
            self.write.append(visit)

    def fold(self, visit: OpenVisit, into: OpenVisit) -> None:
        """The visit was merged into `into`: delete its record, and do not write it."""
        self.write = [v for v in self.write if v is not visit]
        self.delete.append(visit.record)
        self.merged.append(Merge(visit, into.record.visit_id))

    def add(self, other: VisitChanges) -> None:
        for visit in other.write:
            self.to_write(visit)
        self.delete += other.delete
        self.merged += other.merged


@dataclass(frozen=True)
class Merge:
    visit: OpenVisit
    into: str  # the visit id it became part of


def _person_visit(state: CameraState, person_id: str | None, other_than: str | None) -> OpenVisit | None:
    if person_id is None:
        return None
    return next((v for v in state.visits if v.record.person_id == person_id and v.record.visit_id != other_than), None)


def _open(state: CameraState, track: Track, location: str) -> OpenVisit:
    record = VisitRecord(
        visit_id=new_visit_id(track.first_seen),
        camera=state.camera,
        location=location,
        person_group_id=state.person_group_id,
        person_id=track.person_id,
        name=track.name,
        confidence=track.confidence,
        first_seen=track.first_seen,
        last_seen=track.last_seen,
        frames=track.frames,  # this frame's included: `seen` counts a frame once
        closed=False,
        snapshot=None,
    )
    visit = OpenVisit(record)
    state.visits.append(visit)
    return visit


def _named(visit: OpenVisit, track: Track) -> None:
    visit.record = replace(visit.record, person_id=track.person_id, name=track.name, confidence=track.confidence)
    visit.changed = True


def _join(state: CameraState, track: Track, target: OpenVisit, changes: VisitChanges) -> OpenVisit:
    """Move the track into its person's open visit `target`. When no other track keeps its former visit, the
    two become one: the one that began first stays (a visit's id holds the time it began), named as `target`,
    and the other is deleted. Answers the visit the track is in."""
    former = state.visit(track.visit_id)
    track.visit_id = target.record.visit_id
    target.changed = True
    if former is None or any(t.visit_id == former.record.visit_id for t in state.tracks):
        return target
    kept, folded = (target, former) if target.record.first_seen <= former.record.first_seen else (former, target)
    for other in state.tracks:
        if other.visit_id == folded.record.visit_id:
            other.visit_id = kept.record.visit_id
    kept.record = replace(
        kept.record,
        person_id=target.record.person_id,
        name=target.record.name,
        confidence=target.record.confidence,
        last_seen=max(kept.record.last_seen, folded.record.last_seen),
        frames=kept.record.frames + folded.record.frames,
    )
    kept.changed = True
    state.visits.remove(folded)
    changes.fold(folded, kept)
    return kept


def place(state: CameraState, track: Track, location: str, min_frames: int, changes: VisitChanges) -> OpenVisit | None:
    """The open visit the track belongs to, opened, joined or renamed as its name says."""
    if track.visit_id is None and track.identified_frames < min_frames:
        return None
    visit = state.visit(track.visit_id)
    if visit is not None and visit.record.person_id == track.person_id:
        if track.person_id is not None and track.confidence > visit.record.confidence:
            visit.record = replace(visit.record, confidence=track.confidence)
        return visit
    target = _person_visit(state, track.person_id, other_than=track.visit_id)
    if target is not None:
        return _join(state, track, target, changes)
    alone = visit is not None and not any(t is not track and t.visit_id == track.visit_id for t in state.tracks)
    if visit is not None and alone:
        _named(visit, track)
        return visit
    visit = _open(state, track, location)
    track.visit_id = visit.record.visit_id
    return visit


def seen(visit: OpenVisit, moment: datetime) -> None:
    """Count a frame in which the visit was seen (once, however many of its tracks were)."""
    if visit.record.last_seen < moment:
        visit.record = replace(
            visit.record, last_seen=max(moment, visit.record.last_seen), frames=visit.record.frames + 1
        )


def due(visit: OpenVisit, moment: datetime, write_every: float) -> bool:
    return visit.changed or visit.written_at is None or moment - visit.written_at >= timedelta(seconds=write_every)


def close_silent(state: CameraState, moment: datetime, close_after: float, changes: VisitChanges) -> None:
    """Close the visits unseen for `close_after` seconds; forget their tracks."""
    limit = timedelta(seconds=close_after)
    for visit in [v for v in state.visits if moment - v.record.last_seen > limit]:
        visit.record = replace(visit.record, closed=True)
        state.visits.remove(visit)
        changes.to_write(visit)
        state.tracks = [t for t in state.tracks if t.visit_id != visit.record.visit_id]
