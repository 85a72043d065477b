"""The events a camera's visit changes make: `visit.started` when a visit opens, `visit.named` with it and
whenever its person changes, `visit.ended` when it closes or becomes part of another visit of the same
visitor. Worked out before the camera's state is saved, which then holds what each visit announced: an
instance that tracks the camera next announces nothing twice."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from ..tracking.state import OpenVisit
from ..tracking.visits import VisitChanges
from .records import ENDED, NAMED, STARTED, VisitEvent, new_event_id

UNKNOWN_ANNOUNCED = ""


def announce(changes: VisitChanges, moment: datetime) -> list[VisitEvent]:
    events = [
        VisitEvent(new_event_id(), ENDED, moment, replace(merge.visit.record, closed=True), merged_into=merge.into)
        for merge in changes.merged
        if merge.visit.announced is not None
    ]
    for visit in changes.write:
        events += _events_of(visit, moment)
    return events


def _events_of(visit: OpenVisit, moment: datetime) -> list[VisitEvent]:
    record = visit.record
    kinds = [STARTED] if visit.announced is None else []
    person = record.person_id or UNKNOWN_ANNOUNCED
    if visit.announced != person:
        kinds.append(NAMED)
        visit.announced = person
    if record.closed:
        kinds.append(ENDED)
    return [VisitEvent(new_event_id(), kind, moment, record) for kind in kinds]
