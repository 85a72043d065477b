"""The rules that gather tracks into visits (tracking/visits.py), on a camera's state as the frame path keeps
it: which visit a renamed track ends in, and which visit survives a merge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from function_app.models import UNKNOWN, FaceRectangle
from function_app.tracking.state import CameraState, Track, new_track_id
from function_app.tracking.visits import VisitChanges, place

START = datetime(2026, 11, 26, 10, tzinfo=UTC)
BOX = FaceRectangle(10, 10, 80, 80)


def track(state: CameraState, seconds: float) -> Track:
    """A live track of the camera that has had the frames that may name it."""
    began = START + timedelta(seconds=seconds)
    state.tracks.append(Track(new_track_id(), BOX, began, began, frames=3, identified_frames=3))
    return state.tracks[-1]


def named(t: Track, person: str) -> Track:
    t.person_id, t.name, t.confidence = person, person, 0.9
    return t


def test_an_unknown_visit_that_began_first_survives_its_merge_into_the_person_s_visit():
    state, changes = CameraState("door", "family"), VisitChanges()
    stranger = track(state, 0)  # seen first, not named yet
    early = place(state, stranger, "door", 3, changes)
    person = named(track(state, 5), "p1")
    later = place(state, person, "door", 3, changes)
    assert early and later and early is not later and early.record.person_id is None
    named(stranger, "p1")  # the evidence names the first track too: the same person, one visit
    merged = place(state, stranger, "door", 3, changes)
    assert merged is early  # the visit that began first keeps its id
    assert (merged.record.person_id, merged.record.first_seen) == ("p1", START)
    assert [v.record.visit_id for v in state.visits] == [early.record.visit_id]
    assert {t.visit_id for t in (stranger, person)} == {early.record.visit_id}
    assert [r.visit_id for r in changes.delete] == [later.record.visit_id]
    assert all(v is not later for v in changes.write)


def test_a_track_renamed_alone_renames_its_visit_and_one_sharing_it_opens_another():
    state, changes = CameraState("door", "family"), VisitChanges()
    first = named(track(state, 0), "p1")
    visit = place(state, first, "door", 3, changes)
    assert visit is not None
    second = named(track(state, 1), "p1")
    assert place(state, second, "door", 3, changes) is visit  # the person's second track joins the visit
    named(second, "p2")  # then its evidence says someone else
    other = place(state, second, "door", 3, changes)
    assert other is not visit and other and other.record.person_id == "p2"
    first.person_id, first.name = None, UNKNOWN  # the first track's evidence fell below the cut-off
    assert place(state, first, "door", 3, changes) is visit and visit.record.name == UNKNOWN
