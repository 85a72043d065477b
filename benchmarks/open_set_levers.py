"""What each lever of the open-set rule gives, on the calibration set and checked on dev/people_lfw.

    python -m benchmarks.open_set_levers [--data ../shared/testdata]

The engine (default settings otherwise) embeds the central face of every photo with dlib's network,
with and without the mirror (flip test-time augmentation), and with faceres, the second network. The
protocol is the calibration set's: photos 1-3 of each of the 60 known people enrolled, photos 4-6
(180) and the 120 strangers probed; on dev/people_lfw, photos 1-3 of five people enrolled, their
photos 4-10 (35) and all 40 photos of four others probed. The fused distance is matching.py's
(z-normalisation from benchmarks/fusion_study.py).
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

from benchmarks.photo_faces import central_face
from function_app.engines import embedding_layout
from function_app.engines.base import FaceEngine
from function_app.engines.dlib_engine import DlibFaceEngine
from function_app.faceapi.local.matching import DLIB_ONLY, FUSED, face_distances, margin_scores
from function_app.imaging import decode_image
from function_app.models import DetectedFace

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "testdata"
LFW_KNOWN = ("ariel_sharon", "arnold_schwarzenegger", "colin_powell", "donald_rumsfeld", "george_w_bush")


@dataclass(frozen=True)
class Photo:
    identity: str  # who it shows
    person: str | None  # the enrolled person it shows; None: a stranger
    enrolled: bool
    face: DetectedFace | None  # the central face


@dataclass(frozen=True)
class Outcome:
    expected: str | None
    named: str  # the best-scoring person
    score: float  # lower is surer


def _photo(engine: FaceEngine, path: Path, person: str | None, enrolled: bool, identity: str) -> Photo:
    rgb = decode_image(path.read_bytes(), max_bytes=1 << 24, max_side=4096)
    return Photo(identity, person, enrolled, central_face(engine.detect(rgb), rgb))


def calibration_photos(engine: FaceEngine, data: Path) -> list[Photo]:
    """The calibration set's protocol: photos 1-3 of each known person enrolled, 4-6 and the strangers probed."""
    calibration = data / "calibration"
    known = sorted(p for p in (calibration / "known").iterdir() if p.is_dir())
    return [_photo(engine, p / f"{n}.jpg", p.name, n <= 3, p.name) for p in known for n in range(1, 7)] + [
        _photo(engine, p, None, False, f"unknown/{p.stem}") for p in sorted((calibration / "unknown").glob("*.jpg"))
    ]


def photos(engine: DlibFaceEngine, data: Path) -> dict[str, list[Photo]]:
    def photo(path: Path, person: str | None, enrolled: bool, identity: str) -> Photo:
        return _photo(engine, path, person, enrolled, identity)

    sets = {"calibration": calibration_photos(engine, data)}
    lfw = sorted(p for p in (data / "dev" / "people_lfw").iterdir() if p.is_dir())
    sets["people_lfw"] = [
        photo(p / f"{n}.jpg", p.name if p.name in LFW_KNOWN else None, p.name in LFW_KNOWN and n <= 3, p.name)
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


def with_margin(scorer: Scorer, margin_weight: float = DLIB_ONLY.margin_weight) -> Scorer:
    def scored(distances: np.ndarray, gallery: Gallery) -> np.ndarray:
        return margin_scores(scorer(distances, gallery)[None, :], margin_weight)[0]

    return scored


# How a probe's distance to the enrolled faces is measured: dlib's part, faceres's, or fused.
Distance = Callable[[np.ndarray, np.ndarray], np.ndarray]


def dlib_distance(query: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return np.linalg.norm(embedding_layout.dlib_part(rows) - embedding_layout.dlib_part(query), axis=1)


def faceres_distance(query: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return np.linalg.norm(embedding_layout.second_part(rows) - embedding_layout.second_part(query), axis=1)


def fused_distance(query: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return face_distances(query[None, :], rows)[0]


def outcomes(
    photos: list[Photo], distance: Distance, scorer: Scorer, gate: Callable[[DetectedFace], bool] | None
) -> list[Outcome]:
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
        scores = scorer(distance(p.face.required_embedding(), gallery.embeddings), gallery)
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


def logistic_fit(found: list[Outcome]) -> tuple[float, float]:
    """(midpoint, slope) of P(named right | score) = 1 / (1 + exp(slope * (score - midpoint))), by
    maximum likelihood (Newton's method) over every probe: right = a known probe named right."""
    kept = [o for o in found if np.isfinite(o.score)]
    x = np.stack([np.ones(len(kept)), [o.score for o in kept]], axis=1)
    y = np.array([o.expected is not None and o.named == o.expected for o in kept], float)
    beta = np.zeros(2)
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-x @ beta))
        beta += np.linalg.solve(x.T @ (x * (p * (1 - p))[:, None]) + 1e-9 * np.eye(2), x.T @ (y - p))
    return float(-beta[0] / beta[1]), float(-beta[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    embedded = {flip: photos(DlibFaceEngine(flip=flip, second_network="faceres"), args.data) for flip in (False, True)}
    not_low = lambda face: face.quality.quality_for_recognition != "low"  # noqa: E731
    Lever = tuple[str, bool, Distance, Scorer, Callable[[DetectedFace], bool] | None]
    levers: list[Lever] = [
        ("nearest face (the earlier rule)", False, dlib_distance, nearest, None),
        ("+ flip", True, dlib_distance, nearest, None),
        ("+ flip + margin (the calibrated rule, dlib alone)", True, dlib_distance, with_margin(nearest), None),
        ("nearest + margin, no flip", False, dlib_distance, with_margin(nearest), None),
        ("flip + mean of the person's faces", True, dlib_distance, mean_of_faces, None),
        ("flip + (nearest + mean) / 2", True, dlib_distance, nearest_and_mean, None),
        ("flip + (nearest + mean) / 2 + margin", True, dlib_distance, with_margin(nearest_and_mean), None),
        ("flip + per-person statistics (over the impostor mean)", True, dlib_distance, over_impostor_mean, None),
        ("flip + per-person statistics + margin", True, dlib_distance, with_margin(over_impostor_mean), None),
        ("flip + margin + quality gate (low → Unknown)", True, dlib_distance, with_margin(nearest), not_low),
        ("faceres alone, nearest face", True, faceres_distance, nearest, None),
        ("dlib (flip) and faceres fused, nearest face", True, fused_distance, nearest, None),
        # dlib's mirror pass is a third of the per-face cost: is it still worth it beside faceres?
        ("fused + margin, dlib without flip", False, fused_distance, with_margin(nearest, FUSED.margin_weight), None),
        (
            "fused + margin (the calibrated rule, the default)",
            True,
            fused_distance,
            with_margin(nearest, FUSED.margin_weight),
            None,
        ),
    ]
    print("Known probes named right (of 180) with nobody wrong, at the cut-off allowing N of 120 strangers;")
    print("that cut-off on dev/people_lfw: right of 35 known probes, wrong, strangers named of 40.")
    print()
    print("| lever | ≤ 0 strangers | ≤ 1 | ≤ 2 | people_lfw at the ≤ 2 cut-off |")
    print("|---|---|---|---|---|")
    for label, flip, distance, scorer, gate in levers:
        found = outcomes(embedded[flip]["calibration"], distance, scorer, gate)
        cells = []
        for strangers in (0, 1, 2):
            cut_off = best_cut_off(found, strangers)
            cells.append("-" if cut_off is None else str(tally(found, cut_off)[0]))
        cut_off = best_cut_off(found, 2)
        check = "-"
        if cut_off is not None:
            right, wrong, total, named = tally(outcomes(embedded[flip]["people_lfw"], distance, scorer, gate), cut_off)
            check = f"{right} / {total}, {wrong} wrong, {named} / 40"
        print(f"| {label} | {' | '.join(cells)} | {check} |")
    print()
    calibrated = [(DLIB_ONLY, levers[2]), (FUSED, levers[-1])]
    for calibration, (label, flip, distance, scorer, gate) in calibrated:
        midpoint, slope = logistic_fit(outcomes(embedded[flip]["calibration"], distance, scorer, gate))
        print(f"confidence of '{label}': logistic fit midpoint {midpoint:.3f}, slope {slope:.3f} ", end="")
        print(f"(matching.py: {calibration.midpoint}, {calibration.slope})")


if __name__ == "__main__":
    main()
