"""One frame of one camera through its tracks: which face continues which track, which faces need
identifying (a track already named needs detection only, and an identification now and then), each
track's name from its evidence, and the visits it changes. Pure: the caller loads and saves the state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from ..models import FrameFace, RecognizedFace
from ..settings import Settings
from . import association, evidence, scene, visits
from .state import CameraState, Track, new_track_id

IMPROVED = 1.2  # a face this much better than the track's best identified one is identified again
SNAPSHOT_IMPROVED = 1.25  # a snapshot is replaced by a clearly better face only: each costs a JPEG and a write
SAVE_EVERY = timedelta(seconds=1)
# A frame whose bytes the camera sent among its last frames, within this time, is a resend (a client retrying
# an answer it lost); later, the same bytes are a video played again.
RESEND_WINDOW = timedelta(seconds=10)  # the longest a camera's state goes unwritten while it only moves boxes


@dataclass(frozen=True)
class TrackingRules:
    gap: float  # seconds a track may go unseen and still continue
    close_after: float  # seconds a visit may go unseen before it closes
    min_frames: int  # identified frames before a track may be named
    identify_every: float  # seconds between identifications of a track (0: every frame)
    write_every: float  # seconds between writes of an open visit's record

    @classmethod
    def from_settings(cls, settings: Settings) -> TrackingRules:
        return cls(
            gap=settings.track_gap_seconds,
            close_after=settings.visit_close_seconds,
            min_frames=settings.track_min_frames,
            identify_every=settings.track_identify_seconds,
            write_every=settings.visit_write_seconds,
        )


@dataclass
class FrameStep:
    tracks: list[Track | None]  # per face; None only in a frame posted twice, for a face no track has
    changes: visits.VisitChanges = field(default_factory=visits.VisitChanges)
    snapshots: dict[str, int] = field(default_factory=dict)  # visit id → the face whose crop is its snapshot
    changed: bool = False  # the state changed
    persist: bool = False  # ... by more than its tracks' boxes: write it


Identify = Callable[[list[int]], dict[int, RecognizedFace]]
FaceConfidences = association.FaceConfidences


def needs_identifying(track: Track | None, face: FrameFace, moment: datetime, rules: TrackingRules) -> bool:
    if track is None or rules.identify_every <= 0 or track.last_identified is None:
        return True
    if track.identified_frames < rules.min_frames:
        return True
    if evidence.face_quality(face.quality_for_recognition, face.rectangle.width) > IMPROVED * track.best_quality:
        return True
    return moment - track.last_identified >= timedelta(seconds=rules.identify_every)


def step(
    state: CameraState,
    faces: list[FrameFace],
    signature: np.ndarray,
    moment: datetime,
    digest: str,
    location: str,
    identify: Identify,
    confidences: FaceConfidences,
    cut_off: float,
    rules: TrackingRules,
) -> FrameStep:
    boxes = [face.rectangle for face in faces]
    resent = state.last_frame is not None and moment - state.last_frame <= RESEND_WINDOW
    if resent and digest in state.recent_frames:  # posted twice: answer it again, count it once
        return FrameStep(association.by_position(boxes, state.tracks))
    result = FrameStep([], changed=True)
    state.remember_frame(digest)
    state.cuts += scene.is_cut(state.scene, signature)
    state.scene = signature
    state.last_frame = moment if state.last_frame is None else max(state.last_frame, moment)
    visits.close_silent(state, moment, rules.close_after, result.changes)
    live = association.live_tracks(state.tracks, moment, rules.gap)
    result.persist = len(live) != len(state.tracks)
    state.tracks = live
    found = association.by_position(boxes, [t for t in state.tracks if t.shot == state.cuts])  # none after a cut
    wanted = [i for i, face in enumerate(faces) if needs_identifying(found[i], face, moment, rules)]
    identified = identify(wanted) if wanted else {}
    found = association.by_appearance(found, identified, state.tracks, confidences, cut_off, state.cuts)
    for i, face in enumerate(faces):
        track = found[i]
        if track is None:
            track = Track(new_track_id(), face.rectangle, moment, moment, frames=0, shot=state.cuts)
            state.tracks.append(track)
            result.persist = True
        track.box = face.rectangle
        track.shot = state.cuts
        track.last_seen = max(track.last_seen, moment)
        track.frames += 1
        if i in identified:
            evidence.add_evidence(track, identified[i], moment)
            evidence.decide(track, cut_off, rules.min_frames)
        result.tracks.append(track)
    for i, track in enumerate(result.tracks):
        assert track is not None
        visit = visits.place(state, track, location, rules.min_frames, result.changes)
        if visit is None:
            continue
        visits.seen(visit, moment)
        quality = evidence.face_quality(faces[i].quality_for_recognition, faces[i].rectangle.width)
        if quality > SNAPSHOT_IMPROVED * visit.snapshot_quality:
            visit.snapshot_quality = quality
            visit.record = visit.record.with_snapshot()
            visit.changed = True
            result.snapshots[visit.record.visit_id] = i
        if visits.due(visit, moment, rules.write_every):
            result.changes.to_write(visit)
    for visit in result.changes.write:  # written after the state is saved: marked so now
        visit.written_at = moment
        visit.changed = False
    result.persist = (
        result.persist
        or bool(identified)  # evidence is written at once: another instance may take the next frame
        or bool(result.changes.write or result.changes.delete)
        or state.saved_at is None
        or (bool(state.tracks or state.visits) and moment - state.saved_at >= SAVE_EVERY)
    )
    if result.persist:
        state.saved_at = moment
    return result
