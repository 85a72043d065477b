"""A track's identity from all of its identified frames, weighed by their quality.

Each identified frame gives every candidate person its confidence (the open-set rule's calibrated
probability, asked for with no threshold so that a frame just under the cut-off still counts). A person's
fused confidence is the quality-weighted mean over the track's identified frames, a frame that did not
name the person counting 0. The track is named when the best fused confidence passes the rule's cut-off
and at least `min_frames` frames were identified: one odd frame never names a track, however sure. A named
track keeps its name while it stays the best and above HOLD of the cut-off (a name does not flicker on a
frame near the line), and is renamed when another person passes the cut-off."""

from __future__ import annotations

from datetime import datetime

from ..models import UNKNOWN, RecognizedFace
from .state import Track

# How much a frame's evidence counts, by the Face API's qualityForRecognition (None: a backend that gave none).
QUALITY_WEIGHTS: dict[str | None, float] = {"high": 1.0, "medium": 0.6, "low": 0.2, None: 0.5}
FULL_SIZE = 112  # a face this many pixels wide or wider counts fully; a smaller one in proportion
HOLD = 0.8


def face_quality(quality_for_recognition: str | None, width: int) -> float:
    """0..1: how much a face can say who it is, from its quality class and its size."""
    return QUALITY_WEIGHTS.get(quality_for_recognition, 0.5) * min(1.0, width / FULL_SIZE)


def add_evidence(track: Track, face: RecognizedFace, moment: datetime) -> None:
    weight = max(face_quality(face.quality_for_recognition, face.rectangle.width), 0.01)
    for candidate in face.candidates:
        track.evidence[candidate.person_id] = (
            track.evidence.get(candidate.person_id, 0.0) + weight * candidate.confidence
        )
        track.names[candidate.person_id] = candidate.name
    track.weight += weight
    track.identified_frames += 1
    track.last_identified = moment
    quality = face_quality(face.quality_for_recognition, face.rectangle.width)
    if face.embedding is not None and (track.embedding is None or quality >= track.best_quality):
        track.embedding = face.embedding  # the best view stands for the track, to link it again after a gap
    track.best_quality = max(track.best_quality, quality)


def fused_confidences(track: Track) -> dict[str, float]:
    if track.weight <= 0:
        return {}
    return {person: total / track.weight for person, total in track.evidence.items()}


def decide(track: Track, cut_off: float, min_frames: int) -> bool:
    """Name the track (or not) from its evidence; True when its name changed."""
    fused = fused_confidences(track)
    before = track.person_id
    best = max(fused, key=fused.__getitem__) if fused else None
    current = fused.get(track.person_id, 0.0) if track.person_id else 0.0
    if best is not None and fused[best] >= cut_off and track.identified_frames >= min_frames:
        chosen: str | None = best
    elif track.person_id is not None and best == track.person_id and current >= HOLD * cut_off:
        chosen = track.person_id
    else:
        chosen = None
    track.person_id = chosen
    track.name = track.names.get(chosen, chosen) if chosen else UNKNOWN
    track.confidence = fused.get(chosen, 0.0) if chosen else 0.0
    return chosen != before
