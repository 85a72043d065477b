"""One call per video frame: find the faces, continue the camera's tracks, identify only the faces whose
track needs it, and keep the camera's visits (tracking/). The prototype needed a detect call and an
identify call per frame, and wrote a record per frame; visits replace those records (per-frame records
stay available behind FRAME_RECORDS)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ..clock import iso, utc_now
from ..errors import BadArgument
from ..events.announce import announce
from ..events.log import publish
from ..events.records import VisitEvent
from ..faceapi import FaceApi
from ..imaging import decode_upload
from ..models import UNKNOWN, FaceRectangle, FrameFace, Image, RecognizedFace
from ..settings import Settings
from ..storage import PreconditionFailed, Storage
from ..storage.layout import VISITS_CONTAINER
from ..tracking import scene, tracker
from ..tracking.cameras import CameraStates
from ..tracking.state import CameraState, Track
from ..tracking.visits import VisitChanges, close_silent
from ..visits.snapshots import snapshot_jpeg
from ..visits.store import VisitStore
from ..visits.strangers import announce_closed
from .latest_frames import LatestFrames
from .sightings import MAX_LOCATION, SightedFace, SightingRecord, check_camera, write_sighting

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5  # tracking again on a newer state, when another instance wrote the camera's state meanwhile
CANDIDATES = 3  # per identified face: the evidence of the persons a face may be, not only the best


@dataclass(frozen=True)
class TrackedFace:
    rectangle: FaceRectangle
    quality_for_recognition: str | None
    track_id: str | None
    visit_id: str | None
    person_id: str | None  # the track's: named from all of its frames
    name: str
    confidence: float

    def sighted(self) -> SightedFace:
        """The face as its frame's record keeps it: the same fields the frame's answer has."""
        return SightedFace(
            self.rectangle.to_dict(),
            self.person_id,
            self.name,
            self.confidence,
            self.quality_for_recognition,
            track_id=self.track_id,
            visit_id=self.visit_id,
        )

    def to_dict(self) -> dict[str, Any]:
        return self.sighted().to_dict()


@dataclass(frozen=True)
class FrameResult:
    time_stamp: str
    frame_width: int
    frame_height: int
    faces: list[TrackedFace]
    record: str | None  # the per-frame record, when FRAME_RECORDS is on and the frame had faces

    def to_dict(self) -> dict[str, Any]:
        return {
            "timeStamp": self.time_stamp,
            "frameWidth": self.frame_width,
            "frameHeight": self.frame_height,
            "record": self.record,
            "faces": [face.to_dict() for face in self.faces],
        }


class FrameTracker:
    """The frame path's state across requests: the cameras' tracking state, the visit store and the cameras'
    latest frames (in memory)."""

    def __init__(self, face_api: FaceApi, storage: Storage, settings: Settings, visits: VisitStore):
        self.face_api = face_api
        self.storage = storage
        self.settings = settings
        self.visits = visits
        self.cameras = CameraStates(storage)
        self.rules = tracker.TrackingRules.from_settings(settings)
        self.latest = LatestFrames.from_settings(settings)
        # Persons deleted through this instance: a trained index still holds them until the group trains again,
        # and their ids never come back, so identification here never names them again.
        self.forgotten: set[str] = set()

    def recognize_frame(
        self,
        group_id: str,
        camera: str | None,
        image: bytes,
        *,
        location: str | None = None,
        confidence_threshold: float | None = None,
        moment: datetime | None = None,
    ) -> FrameResult:
        """`moment`: when the frame was taken (now, unless a benchmark replays a video at its own pace)."""
        camera = check_camera(camera)
        if location is not None and len(location) > MAX_LOCATION:
            raise BadArgument(f"'location' is too long: at most {MAX_LOCATION} characters.")
        if confidence_threshold is not None and not 0.0 <= confidence_threshold <= 1.0:
            raise BadArgument("confidenceThreshold must be between 0 and 1.")
        frame = decode_upload(image, self.settings)
        moment = moment or utc_now()
        cut_off = self.face_api.naming_cut_off(group_id) if confidence_threshold is None else confidence_threshold
        faces = self.face_api.find_faces(frame)  # the heavy part, outside the camera's lock
        signature = scene.signature(frame.rgb)
        identified: dict[int, RecognizedFace] = {}  # kept across attempts: a face is identified once

        def identify(wanted: list[int]) -> dict[int, RecognizedFace]:
            missing = [i for i in wanted if i not in identified]
            if missing:
                answers = self.face_api.identify_faces(
                    group_id, frame, [faces[i] for i in missing], max_candidates=CANDIDATES, confidence_threshold=0.0
                )
                identified.update(zip(missing, map(self._without_forgotten, answers), strict=True))
            return {i: identified[i] for i in wanted}

        digest = hashlib.sha256(image).hexdigest()[:32]
        with self.cameras.lock(camera):
            for attempt in range(MAX_ATTEMPTS):
                loaded = self.cameras.load(camera, fresh=attempt > 0)
                changes = VisitChanges()
                state = loaded.state
                if state is None or state.person_group_id != group_id:
                    if state is not None:  # the camera now looks for another group: its visits end here
                        close_silent(state, moment, -1.0, changes)
                    state = CameraState(camera, group_id)
                try:
                    result = tracker.step(
                        state,
                        faces,
                        signature,
                        moment,
                        digest,
                        location if location is not None else camera,
                        identify,
                        self.face_api.face_confidences,
                        cut_off,
                        self.rules,
                    )
                except Exception:
                    self.cameras.forget(camera)  # changed half-way: read it afresh next time
                    raise
                if not result.changed:
                    break
                changes.add(result.changes)
                if not (result.persist or changes.write or self.cameras.contended(camera)):
                    self.cameras.keep(state, loaded.etag)
                    break
                events = announce(changes, moment)  # before the save: the state keeps what was announced
                try:
                    self.cameras.save(state, loaded.etag)
                except PreconditionFailed:
                    continue
                self._write_visits(changes, result.snapshots, frame, faces, events)
                break
            else:
                raise PreconditionFailed(f"Camera {camera!r}'s tracking state kept changing: try the frame again.")
        tracked = [_tracked(face, track) for face, track in zip(faces, result.tracks, strict=True)]
        record = self._write_frame_record(camera, group_id, moment, frame, tracked, location) if tracked else None
        answer = FrameResult(iso(moment), frame.width, frame.height, tracked, record)
        self.latest.keep(camera, group_id, image, answer, moment)
        return answer

    def close_silent_cameras(self) -> int:
        """Close the visits of cameras that sent no frame for VISIT_CLOSE_SECONDS (the timer's work); answers
        how many closed. Expired latest frames are forgotten too."""
        self.latest.forget_expired()
        now = utc_now()

        def close(state: CameraState, changes: VisitChanges) -> bool:
            close_silent(state, now, self.rules.close_after, changes)
            return bool(changes.write)

        # One try: a frame that came meanwhile closes what is due itself.
        done = [self._change_camera(camera, close, now, attempts=1) for camera in list(self.cameras.cameras())]
        return sum(len(changes.write) for changes in done if changes is not None)

    def forget_persons(self, group_id: str, person_ids: list[str]) -> int:
        """Deleted persons leave the cameras of their group: the tracks that named them forget it and their open
        visits are written (and announced) as Unknown at once, so that the tracker never writes their name again.
        Answers how many open visits changed."""
        forgotten = set(person_ids)
        self.forgotten |= forgotten

        def forget(state: CameraState, changes: VisitChanges) -> bool:
            if state.person_group_id != group_id:
                return False
            tracks, visits = state.forget_persons(forgotten)
            for visit in visits:
                changes.to_write(visit)
            return bool(tracks or visits)

        changed = 0
        for camera in list(self.cameras.cameras()) if forgotten else []:
            changes = self._change_camera(camera, forget, utc_now(), attempts=MAX_ATTEMPTS)
            for visit in changes.write if changes is not None else []:
                self.storage.delete_blob(VISITS_CONTAINER, visit.record.snapshot_blob_name)  # the person's face
                changed += 1
        return changed

    def _change_camera(
        self,
        camera: str,
        change: Callable[[CameraState, VisitChanges], bool],
        moment: datetime,
        *,
        attempts: int,
    ) -> VisitChanges | None:
        """Change a camera's state between its frames, as a frame does: under its lock, over the version read
        (read afresh on a conflict, up to `attempts` times), then announce, save and write the visits. `change`
        edits the state and the visit changes and answers whether it changed anything. Answers the changes
        written, or None."""
        with self.cameras.lock(camera):
            for attempt in range(attempts):
                loaded = self.cameras.load(camera, fresh=attempt > 0)
                changes = VisitChanges()
                if loaded.state is None or not change(loaded.state, changes):
                    return None
                events = announce(changes, moment)
                try:
                    self.cameras.save(loaded.state, loaded.etag)
                except PreconditionFailed:
                    continue
                self._write_visits(changes, {}, None, [], events)
                return changes
        return None

    def _without_forgotten(self, face: RecognizedFace) -> RecognizedFace:
        if not self.forgotten or not any(c.person_id in self.forgotten for c in face.candidates):
            return face
        return replace(face, candidates=[c for c in face.candidates if c.person_id not in self.forgotten])

    def _write_visits(
        self,
        changes: VisitChanges,
        snapshots: dict[str, int],
        frame: Image | None,
        faces: list[FrameFace],
        events: list[VisitEvent],
    ) -> None:
        """Write the visits' records, then publish their events: an event's snapshot link answers."""
        for record in changes.delete:
            self.visits.delete(record)
        for visit in changes.write:
            face = snapshots.get(visit.record.visit_id)
            jpeg = snapshot_jpeg(frame, faces[face].rectangle) if frame is not None and face is not None else None
            announce_closed(self.storage, self.visits.save(visit.record, jpeg))
        publish(self.storage, events)

    def _write_frame_record(
        self,
        camera: str,
        group_id: str,
        moment: datetime,
        frame: Image,
        faces: list[TrackedFace],
        location: str | None,
    ) -> str | None:
        if self.settings.frame_records != "on":
            return None
        sighting = SightingRecord(
            camera=camera,
            person_group_id=group_id,
            moment=moment,
            frame_width=frame.width,
            frame_height=frame.height,
            faces=[face.sighted() for face in faces],
            location=location,
        )
        return write_sighting(self.storage, sighting)


def _tracked(face: FrameFace, track: Track | None) -> TrackedFace:
    if track is None:
        return TrackedFace(face.rectangle, face.quality_for_recognition, None, None, None, UNKNOWN, 0.0)
    return TrackedFace(
        face.rectangle,
        face.quality_for_recognition,
        track.track_id,
        track.visit_id,
        track.person_id,
        track.name,
        track.confidence,
    )
