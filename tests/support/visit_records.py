"""Visit records built as the frame path builds them, for tests that save them through a VisitStore."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from function_app.models import UNKNOWN
from function_app.visits.records import VisitRecord, new_visit_id


def visit(day: datetime, ms: int, camera: str = "door", person: str | None = None, **changes) -> VisitRecord:
    """A visit first seen `ms` milliseconds into the day (or after any moment), 10 s long."""
    first = day + timedelta(milliseconds=ms)
    record = VisitRecord(
        visit_id=new_visit_id(first),
        camera=camera,
        location=f"{camera} location",
        person_group_id="family",
        person_id=person,
        name="someone" if person else UNKNOWN,
        confidence=0.8 if person else 0.0,
        first_seen=first,
        last_seen=first + timedelta(seconds=10),
        frames=12,
        closed=False,
        snapshot=None,
    )
    return replace(record, **changes)
