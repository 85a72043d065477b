"""What is kept of one camera between its frames: its live tracks and its open visits, stored as one JSON
blob per camera (cameras.py). Embeddings and the scene signature travel as base64 float16: a track's state
stays a few kilobytes."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np

from ..clock import iso, parse_iso
from ..models import UNKNOWN, FaceRectangle
from ..visits.records import VisitRecord

RECENT_FRAMES = 32  # digests of the latest frames, to answer a frame posted twice without counting it twice


def new_track_id() -> str:
    return f"t{secrets.token_hex(6)}"


def _encode_vector(vector: np.ndarray | None) -> str | None:
    if vector is None:
        return None
    return base64.b64encode(vector.astype("<f2").tobytes()).decode()


def _decode_vector(text: str | None) -> np.ndarray | None:
    if text is None:
        return None
    return np.frombuffer(base64.b64decode(text), dtype="<f2").astype(np.float32)


@dataclass
class Track:
    """One face followed across frames, and what its frames say about who it is."""

    track_id: str
    box: FaceRectangle
    first_seen: datetime
    last_seen: datetime
    frames: int = 1
    shot: int = 0  # the camera's shot (CameraState.cuts) it was last seen in
    visit_id: str | None = None
    # identity
    person_id: str | None = None
    name: str = UNKNOWN
    confidence: float = 0.0
    evidence: dict[str, float] = field(default_factory=dict)  # person id → Σ weight × confidence
    names: dict[str, str] = field(default_factory=dict)  # person id → name, for those in `evidence`
    weight: float = 0.0  # Σ weight of the identified frames
    identified_frames: int = 0
    last_identified: datetime | None = None
    best_quality: float = 0.0  # the best face quality (evidence.face_quality) identified
    embedding: np.ndarray | None = None  # its best identified face's (local engine only)

    def to_dict(self) -> dict[str, Any]:
        return {
            "trackId": self.track_id,
            "box": self.box.to_dict(),
            "firstSeen": iso(self.first_seen),
            "lastSeen": iso(self.last_seen),
            "frames": self.frames,
            "shot": self.shot,
            "visitId": self.visit_id,
            "personId": self.person_id,
            "name": self.name,
            "confidence": self.confidence,
            "evidence": self.evidence,
            "names": self.names,
            "weight": self.weight,
            "identifiedFrames": self.identified_frames,
            "lastIdentified": None if self.last_identified is None else iso(self.last_identified),
            "bestQuality": self.best_quality,
            "embedding": _encode_vector(self.embedding),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Track:
        last_identified = data.get("lastIdentified")
        return cls(
            track_id=str(data["trackId"]),
            box=FaceRectangle.from_dict(data["box"]),
            first_seen=parse_iso(data["firstSeen"]),
            last_seen=parse_iso(data["lastSeen"]),
            frames=int(data["frames"]),
            shot=int(data.get("shot", 0)),
            visit_id=data.get("visitId"),
            person_id=data.get("personId"),
            name=str(data.get("name", UNKNOWN)),
            confidence=float(data.get("confidence", 0.0)),
            evidence={str(k): float(v) for k, v in data.get("evidence", {}).items()},
            names={str(k): str(v) for k, v in data.get("names", {}).items()},
            weight=float(data.get("weight", 0.0)),
            identified_frames=int(data.get("identifiedFrames", 0)),
            last_identified=None if last_identified is None else parse_iso(last_identified),
            best_quality=float(data.get("bestQuality", 0.0)),
            embedding=_decode_vector(data.get("embedding")),
        )


@dataclass
class OpenVisit:
    """A visit not closed yet: its record as last decided, and when it was last written."""

    record: VisitRecord
    snapshot_quality: float = 0.0
    written_at: datetime | None = None
    changed: bool = True  # something users see changed since the last write
    announced: str | None = None  # the person id its last event named ("": Unknown); None: not started yet

    def to_dict(self) -> dict[str, Any]:
        return {
            "record": self.record.to_dict(),
            "snapshotQuality": self.snapshot_quality,
            "writtenAt": None if self.written_at is None else iso(self.written_at),
            "changed": self.changed,
            "announced": self.announced,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OpenVisit:
        written_at = data.get("writtenAt")
        return cls(
            record=VisitRecord.from_dict(data["record"]),
            snapshot_quality=float(data.get("snapshotQuality", 0.0)),
            written_at=None if written_at is None else parse_iso(written_at),
            changed=bool(data.get("changed", True)),
            announced=None if data.get("announced") is None else str(data["announced"]),
        )


@dataclass
class CameraState:
    camera: str
    person_group_id: str
    tracks: list[Track] = field(default_factory=list)
    visits: list[OpenVisit] = field(default_factory=list)
    scene: np.ndarray | None = None  # the latest frame's signature (scene.py)
    cuts: int = 0  # cuts seen so far: the number of the current shot
    last_frame: datetime | None = None
    recent_frames: list[str] = field(default_factory=list)
    saved_at: datetime | None = None  # the frame time of its last write

    def visit(self, visit_id: str | None) -> OpenVisit | None:
        return next((v for v in self.visits if v.record.visit_id == visit_id), None)

    def remember_frame(self, digest: str) -> None:
        self.recent_frames = [*self.recent_frames, digest][-RECENT_FRAMES:]

    def forget_persons(self, persons: set[str]) -> tuple[int, list[OpenVisit]]:
        """Deleted persons: their tracks lose what named them (and start gathering evidence afresh) and their open
        visits become Unknown visits without a snapshot. Answers how many tracks and which visits changed."""
        tracks = [t for t in self.tracks if persons & ({t.person_id} | set(t.evidence))]
        for track in tracks:
            for person in persons:
                track.evidence.pop(person, None)
                track.names.pop(person, None)
            if track.person_id in persons:
                track.person_id, track.name, track.confidence = None, UNKNOWN, 0.0
        changed = [v for v in self.visits if v.record.person_id in persons]
        for visit in changed:
            visit.record = replace(
                visit.record, person_id=None, name=UNKNOWN, confidence=0.0, named_by=None, snapshot=None
            )
            visit.snapshot_quality = 0.0
            visit.changed = True
        return len(tracks), changed

    def to_dict(self) -> dict[str, Any]:
        return {
            "cameraId": self.camera,
            "personGroupId": self.person_group_id,
            "tracks": [t.to_dict() for t in self.tracks],
            "visits": [v.to_dict() for v in self.visits],
            "scene": _encode_vector(self.scene),
            "cuts": self.cuts,
            "lastFrame": None if self.last_frame is None else iso(self.last_frame),
            "recentFrames": self.recent_frames,
            "savedAt": None if self.saved_at is None else iso(self.saved_at),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CameraState:
        last_frame = data.get("lastFrame")
        return cls(
            camera=str(data["cameraId"]),
            person_group_id=str(data["personGroupId"]),
            tracks=[Track.from_dict(t) for t in data.get("tracks", [])],
            visits=[OpenVisit.from_dict(v) for v in data.get("visits", [])],
            scene=_decode_vector(data.get("scene")),
            cuts=int(data.get("cuts", 0)),
            last_frame=None if last_frame is None else parse_iso(last_frame),
            recent_frames=[str(d) for d in data.get("recentFrames", [])],
            saved_at=None if data.get("savedAt") is None else parse_iso(data["savedAt"]),
        )
