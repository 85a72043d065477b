"""Which face of a frame continues which track. First by position: a face whose box overlaps a live track's
box, or lies near it at about its size (a head that moved fast, or frames sent a few a second), continues
it, greedily from the closest pair, unless the frame is a cut.

Then by appearance, for the faces that were identified: a face left over continues a live track left over
named as the person its own frame names, or whose embedding is very likely the same person (someone who
left the picture and came back within the gap, or moved far between two frames; across a cut, by name only).
A face that overlaps its track is not split from it by appearance: the same face turned or blurred is,
frame against frame, often as unlike itself as a stranger (measured on the dev video's frontal shot: a
likeness of 0.0002 between two frames a second apart)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np

from ..models import FaceRectangle, RecognizedFace
from .state import Track

MIN_OVERLAP = 0.3
# Not overlapping enough, still the same face: its centre within NEAR widths of the track's, at a size within
# SIZE_RATIO of it. Measured on the dev video's frontal shot sent at 5 frames a second: a head that moves
# 0.55 widths between two frames sent overlaps its previous box by 0.24 only.
NEAR = 0.75
SIZE_RATIO = 1.5
# Linking by appearance needs a likeness well above face_confidences' "as likely as not" (0.5): a wrong link
# merges two people's evidence, a missed one only starts a new track (whose visit joins its person's). On the
# dev video a link at 0.5 joined the wide shot's small Lin-Manuel Miranda to an audience face after the cut.
SAME_PERSON = 0.9

FaceConfidences = Callable[[np.ndarray, np.ndarray], np.ndarray]


def overlap(a: FaceRectangle, b: FaceRectangle) -> float:
    """Intersection over union of two boxes."""
    width = min(a.left + a.width, b.left + b.width) - max(a.left, b.left)
    height = min(a.top + a.height, b.top + b.height) - max(a.top, b.top)
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    return inter / float(a.width * a.height + b.width * b.height - inter)


def live_tracks(tracks: list[Track], moment: datetime, gap: float) -> list[Track]:
    """The tracks a face of a frame at `moment` may continue: seen within `gap` seconds."""
    return [t for t in tracks if moment - t.last_seen <= timedelta(seconds=gap)]


def closeness(a: FaceRectangle, b: FaceRectangle) -> float:
    """How surely box `a` is box `b` moved: its overlap when that is enough; else, when near at about the same
    size, a score under MIN_OVERLAP that falls with the distance; else 0."""
    shared = overlap(a, b)
    if shared >= MIN_OVERLAP:
        return shared
    width = (a.width + b.width) / 2
    if max(a.width, b.width) > SIZE_RATIO * min(a.width, b.width):
        return 0.0
    dx = (a.left + a.width / 2) - (b.left + b.width / 2)
    dy = (a.top + a.height / 2) - (b.top + b.height / 2)
    distance = (dx * dx + dy * dy) ** 0.5 / width
    return MIN_OVERLAP * max(0.0, 1.0 - distance / NEAR)


def by_position(boxes: list[FaceRectangle], tracks: list[Track]) -> list[Track | None]:
    """For each box, the track it continues by position, or None."""
    pairs = sorted(
        ((closeness(box, track.box), i, j) for i, box in enumerate(boxes) for j, track in enumerate(tracks)),
        reverse=True,
    )
    found: list[Track | None] = [None] * len(boxes)
    taken: set[int] = set()
    for score, i, j in pairs:
        if score <= 0.0:
            break
        if found[i] is None and j not in taken:
            found[i] = tracks[j]
            taken.add(j)
    return found


def by_appearance(
    found: list[Track | None],
    identified: dict[int, RecognizedFace],
    tracks: list[Track],
    confidences: FaceConfidences,
    cut_off: float,
    shot: int,
) -> list[Track | None]:
    """`found` completed by what the faces identified this frame look like: a face left over continues a live
    track left over that is named as the person the face's own frame names (at the cut-off), or, in the same
    shot, whose embedding it resembles (SAME_PERSON), the surest pair first. Across a cut only the name links:
    the next shot's faces are other people as often as not."""
    result = list(found)
    taken = {id(t) for t in result if t is not None}
    free = [t for t in tracks if id(t) not in taken]
    loose = [i for i, t in enumerate(result) if t is None and i in identified]
    if not free or not loose:
        return result
    likeness = np.zeros((len(loose), len(free)))
    vectors = [identified[i].embedding for i in loose]
    known = [b for b, t in enumerate(free) if t.embedding is not None and t.shot == shot]
    embedded = [a for a, v in enumerate(vectors) if v is not None]
    if known and embedded:
        rows = np.stack([free[b].embedding for b in known])  # type: ignore[misc]
        queries = np.stack([vectors[a] for a in embedded])  # type: ignore[misc]
        likeness[np.ix_(embedded, known)] = confidences(queries, rows)
    for a, i in enumerate(loose):
        best = identified[i].candidates[0] if identified[i].candidates else None
        for b, track in enumerate(free):
            if best is not None and best.confidence >= cut_off and track.person_id == best.person_id:
                likeness[a, b] = 1.0 + best.confidence  # the same person, by name: surer than by likeness
    pairs = sorted(((likeness[a, b], a, b) for a in range(len(loose)) for b in range(len(free))), reverse=True)
    for score, a, b in pairs:
        if score < SAME_PERSON:
            break
        if result[loose[a]] is None and id(free[b]) not in taken:
            result[loose[a]] = free[b]
            taken.add(id(free[b]))
    return result
