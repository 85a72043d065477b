"""What each lever of the open-set rule gives, on the calibration set and checked on dev/people_lfw.

    python -m benchmarks.open_set_levers [--data ../shared/testdata]

The engine (default settings otherwise) embeds the central face of every photo, with and without
the mirror (flip test-time augmentation). The protocol is the calibration set's: photos 1-3 of each
of the 60 known people enrolled, photos 4-6 (180) and the 120 strangers probed; on dev/people_lfw,
photos 1-3 of five people enrolled, their photos 4-10 (35) and all 40 photos of four others probed.
Each lever is a way of scoring a probe against the group; for each, the cut-off is the one that
names the most known probes right with at most N strangers named and nobody wrong on the
calibration set, and that same cut-off is then applied to dev/people_lfw.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from function_app.engines.dlib_engine import DlibFaceEngine
from function_app.faceapi.local.matching import margin_scores
from function_app.imaging import decode_image
from function_app.models import DetectedFace

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "testdata"
LFW_KNOWN = ("ariel_sharon", "arnold_schwarzenegger", "colin_powell", "donald_rumsfeld", "george_w_bush")


@dataclass(frozen=True)
class Photo:
    person: str | None  # None: a stranger
    enrolled: bool
    face: DetectedFace | None  # the central face


@dataclass(frozen=True)
class Outcome:
    expected: str | None
    named: str  # the best-scoring person
    score: float  # lower is surer


def central(faces: list[DetectedFace], side: int = 250) -> DetectedFace | None:
    def off_centre(face: DetectedFace) -> float:
        r = face.rectangle
        return (r.left + r.width / 2 - side / 2) ** 2 + (r.top + r.height / 2 - side / 2) ** 2

    return min(faces, key=off_centre) if faces else None


def photos(engine: DlibFaceEngine, data: Path) -> dict[str, list[Photo]]:
    def photo(path: Path, person: str | None, enrolled: bool) -> Photo:
        rgb = decode_image(path.read_bytes(), max_bytes=1 << 24, max_side=4096)
        return Photo(person, enrolled, central(engine.detect(rgb)))

    calibration = data / "calibration"
    known = sorted(p for p in (calibration / "known").iterdir() if p.is_dir())
    sets = {
        "calibration": [photo(p / f"{n}.jpg", p.name, n <= 3) for p in known for n in range(1, 7)]
        + [photo(p, None, False) for p in sorted((calibration / "unknown").glob("*.jpg"))]
    }
    lfw = sorted(p for p in (data / "dev" / "people_lfw").iterdir() if p.is_dir())
    sets["people_lfw"] = [
        photo(p / f"{n}.jpg", p.name if p.name in LFW_KNOWN else None, p.name in LFW_KNOWN and n <= 3)
        for p in lfw
        for n in range(1, 11)
    ]
    return sets


@dataclass(frozen=True)
class Gallery:
    embeddings: np.ndarray  # (faces, dims)
    owner: np.ndarray  # (faces,) the person index of each face
    persons: int


# A lever: (the probe's distance to every enrolled face, the gallery) → a score per person.
Scorer = Callable[[np.ndarray, Gallery], np.ndarray]


def nearest(distances: np.ndarray, gallery: Gallery) -> np.ndarray:
    return np.array([distances[gallery.owner == p].min() for p in range(gallery.persons)])


def mean_of_faces(distances: np.ndarray, gallery: Gallery) -> np.ndarray:
    return np.array([distances[gallery.owner == p].mean() for p in range(gallery.persons)])


def nearest_and_mean(distances: np.ndarray, gallery: Gallery) -> np.ndarray:
    return (nearest(distances, gallery) + mean_of_faces(distances, gallery)) / 2


def over_impostor_mean(distances: np.ndarray, gallery: Gallery) -> np.ndarray:
    """Per-person statistics: the nearest distance over the mean distance from the other persons'
    enrolled faces to this person's (how near strangers to this person usually come)."""
    between = np.linalg.norm(gallery.embeddings[:, None] - gallery.embeddings[None], axis=2)
    mean_impostor = np.array(
        [between[gallery.owner != p][:, gallery.owner == p].min(axis=1).mean() for p in range(gallery.persons)]
    )
    return nearest(distances, gallery) / mean_impostor


def with_margin(scorer: Scorer) -> Scorer:
    def scored(distances: np.ndarray, gallery: Gallery) -> np.ndarray:
        return margin_scores(scorer(distances, gallery)[None, :])[0]

    return scored


def outcomes(photos: list[Photo], scorer: Scorer, gate: Callable[[DetectedFace], bool] | None) -> list[Outcome]:
    enrolled = [p for p in photos if p.enrolled and p.face is not None]
    names = sorted({p.person for p in enrolled if p.person})
    gallery = Gallery(
        np.stack([p.face.required_embedding() for p in enrolled if p.face]),
        np.array([names.index(p.person) for p in enrolled if p.person]),
        len(names),
    )
    found = []
    for p in photos:
        if p.enrolled:
            continue
        if p.face is None or (gate is not None and not gate(p.face)):
            found.append(Outcome(p.person, "", np.inf))  # no face, or left Unknown by the gate
            continue
        scores = scorer(np.linalg.norm(gallery.embeddings - p.face.required_embedding(), axis=1), gallery)
        best = int(np.argmin(scores))
        found.append(Outcome(p.person, names[best], float(scores[best])))
    return found


def tally(found: list[Outcome], cut_off: float) -> tuple[int, int, int, int]:
    """(known right, known wrong, known probes, strangers named) at a cut-off on the score."""
    known = [o for o in found if o.expected]
    return (
        sum(o.score <= cut_off and o.named == o.expected for o in known),
        sum(o.score <= cut_off and o.named != o.expected for o in known),
        len(known),
        sum(o.score <= cut_off for o in found if not o.expected),
    )


def best_cut_off(found: list[Outcome], strangers: int) -> float | None:
    allowed = [s for s in sorted({o.score for o in found if np.isfinite(o.score)}) if _fits(found, s, strangers)]
    return max(allowed, key=lambda s: (tally(found, s)[0], -s)) if allowed else None


def _fits(found: list[Outcome], cut_off: float, strangers: int) -> bool:
    _, wrong, _, named = tally(found, cut_off)
    return wrong == 0 and named <= strangers


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    embedded = {flip: photos(DlibFaceEngine(flip=flip), args.data) for flip in (False, True)}
    not_low = lambda face: face.quality.quality_for_recognition != "low"  # noqa: E731
    levers: list[tuple[str, bool, Scorer, Callable[[DetectedFace], bool] | None]] = [
        ("nearest face (the earlier rule)", False, nearest, None),
        ("+ flip", True, nearest, None),
        ("+ flip + margin (the calibrated rule)", True, with_margin(nearest), None),
        ("nearest + margin, no flip", False, with_margin(nearest), None),
        ("flip + mean of the person's faces", True, mean_of_faces, None),
        ("flip + (nearest + mean) / 2", True, nearest_and_mean, None),
        ("flip + (nearest + mean) / 2 + margin", True, with_margin(nearest_and_mean), None),
        ("flip + per-person statistics (over the impostor mean)", True, over_impostor_mean, None),
        ("flip + per-person statistics + margin", True, with_margin(over_impostor_mean), None),
        ("calibrated rule + quality gate (low → Unknown)", True, with_margin(nearest), not_low),
    ]
    print("Known probes named right (of 180) with nobody wrong, at the cut-off allowing N of 120 strangers;")
    print("that cut-off on dev/people_lfw: right of 35 known probes, wrong, strangers named of 40.")
    print()
    print("| lever | ≤ 0 strangers | ≤ 1 | ≤ 2 | people_lfw at the ≤ 2 cut-off |")
    print("|---|---|---|---|---|")
    for label, flip, scorer, gate in levers:
        found = outcomes(embedded[flip]["calibration"], scorer, gate)
        cells = []
        for strangers in (0, 1, 2):
            cut_off = best_cut_off(found, strangers)
            cells.append("-" if cut_off is None else str(tally(found, cut_off)[0]))
        cut_off = best_cut_off(found, 2)
        check = "-"
        if cut_off is not None:
            right, wrong, total, named = tally(outcomes(embedded[flip]["people_lfw"], scorer, gate), cut_off)
            check = f"{right} / {total}, {wrong} wrong, {named} / 40"
        print(f"| {label} | {' | '.join(cells)} | {check} |")


if __name__ == "__main__":
    main()
