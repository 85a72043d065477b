"""dlib's network alone, faceres alone, and both fused, on the calibration set; and what faceres costs per face.

Faces are found by the project's engine (the central face of each photo). Protocol of
../shared/testdata/calibration (MANIFEST.json): 60 known people, photos 1–3 enrolled, 4–6 probed (180 known
probes); 120 strangers, one photo each. A probe is named as the person with the nearest enrolled face, when
that distance is within the cut-off. For each method the cut-offs are the loosest that name at most 1, 2
and 5 of the 120 strangers; each row says how many known probes are then named right, named wrong, missed.

The fusion's z-norm statistics come from the dev split (../shared/testdata/dev, other people), never from
the calibration photos; `--write` stores them in function_app/engines/fusion_norm.json.

    python -m benchmarks.fusion_study [--write]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from function_app.engines import create_engine, model_files
from function_app.engines.faceres import FaceresEmbedder, face_crops
from function_app.engines.fusion import NORM_FILE, DistanceStats, FusionNorm, pair_distances
from function_app.engines.onnx_embedding import OnnxFaceEmbedder, default_cache_dir
from function_app.models import FaceRectangle
from function_app.settings import Settings

from .faceres_mean import dev_photos
from .photo_faces import PhotoFace, photo_face

SHARED = Path(__file__).resolve().parents[2] / "shared" / "testdata"
STRANGER_BUDGETS = (1, 2, 5)


@dataclass(frozen=True)
class Faces:
    """Both networks' unit embeddings of a list of labelled faces."""

    labels: list[str]
    dlib: np.ndarray
    faceres: np.ndarray

    @classmethod
    def of(cls, labelled: list[tuple[str, PhotoFace]], embedder: FaceresEmbedder) -> Faces:
        return cls(
            [label for label, _ in labelled],
            np.stack([f.dlib for _, f in labelled]),
            embedder.centred(np.stack([f.faceres_features for _, f in labelled])),
        )


def distances(probes: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(2.0 - 2.0 * probes @ gallery.T, 0.0))


@dataclass(frozen=True)
class Nearest:
    """Each probe's nearest person and that distance, by one method."""

    person: list[str]
    distance: np.ndarray

    @classmethod
    def of(cls, matrix: np.ndarray, gallery_labels: list[str]) -> Nearest:
        # Nearest face per person, then the nearest person: the nearest face overall.
        best = matrix.argmin(axis=1)
        return cls([gallery_labels[i] for i in best], matrix.min(axis=1))


def table(name: str, known: Nearest, truth: list[str], undetected: int, strangers: Nearest) -> None:
    """One row per stranger budget; known probes without a detected face count as missed."""
    ordered = np.sort(strangers.distance)
    for budget in STRANGER_BUDGETS:
        # The loosest cut-off naming at most `budget` strangers: just below the next stranger's distance.
        cut = float(np.nextafter(ordered[budget], -np.inf))
        named = known.distance <= cut
        right = int(sum(n and p == t for n, p, t in zip(named, known.person, truth, strict=True)))
        wrong = int(named.sum()) - right
        named_strangers = int((strangers.distance <= cut).sum())
        print(
            f"{name:8} {budget:>3}  {named_strangers:>8}/{len(ordered)}  {right:>5}  {wrong:>5}  "
            f"{len(truth) + undetected - right - wrong:>6}  {cut:>8.4f}"
        )


def timed(work: Callable[[], object], repeat: int) -> float:
    """Median milliseconds of `work`, after one warm-up call."""
    work()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def costs(dlib: OnnxFaceEmbedder, faceres: FaceresEmbedder, crops: np.ndarray) -> None:
    chips = np.ascontiguousarray(crops[:, 37:187, 37:187])  # real pixels in dlib's chip size
    print("\ncost per face, one core (ms; faceres includes its BGR/mean preprocessing)")
    print("faces   dlib ONNX  faceres  faceres/dlib")
    for n in (1, len(crops)):
        some_chips, some_crops = chips[:n], crops[:n]
        d = timed(lambda: dlib.descriptors(some_chips), 30) / n  # noqa: B023 (timed calls it at once)
        f = timed(lambda: faceres.features(some_crops), 30) / n  # noqa: B023
        print(f"{n:>5}  {d:>9.2f}  {f:>7.2f}  {f / d:>12.1f}")
    frame = np.zeros((480, 640, 3), np.uint8)
    box = [FaceRectangle(top=140, left=260, width=120, height=120)]
    crop_ms = timed(lambda: face_crops(frame, box), 30)
    print(f"cutting and resizing one face's crop from a 640×480 frame: {crop_ms:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED)
    parser.add_argument("--write", action="store_true", help=f"store the dev split's statistics in {NORM_FILE.name}")
    args = parser.parse_args()
    engine = create_engine(Settings())
    embedder = FaceresEmbedder()

    def labelled(paths: list[tuple[str, Path]]) -> tuple[list[tuple[str, PhotoFace]], int]:
        found = [(label, photo_face(engine, embedder, path)) for label, path in paths]
        return [(label, f) for label, f in found if f is not None], sum(f is None for _, f in found)

    dev, _ = labelled([(p.parent.name, p) for p in dev_photos(args.data / "dev")])
    dev_faces = Faces.of(dev, embedder)
    norm = FusionNorm(
        DistanceStats.of(*pair_distances(dev_faces.dlib, dev_faces.labels)),
        DistanceStats.of(*pair_distances(dev_faces.faceres, dev_faces.labels)),
        f"../shared/testdata/dev: {len(dev)} faces of {len(set(dev_faces.labels))} people, all pairs",
    )
    if args.write:
        norm.save()
    print(f"z-norm statistics from the dev split ({norm.source}){'' if args.write else ', as stored:'}")
    stored = norm if args.write else FusionNorm.load()
    for name, stats in (("dlib", stored.dlib), ("faceres", stored.faceres)):
        print(
            f"  {name:8} genuine {stats.genuine_mean:.4f} ± {stats.genuine_std:.4f}   "
            f"impostor {stats.impostor_mean:.4f} ± {stats.impostor_std:.4f}"
        )

    calibration = args.data / "calibration"
    people = sorted(p.name for p in (calibration / "known").iterdir())
    enrolled, missing_enrolled = labelled(
        [(p, calibration / "known" / p / f"{n}.jpg") for p in people for n in (1, 2, 3)]
    )
    known, missing_known = labelled([(p, calibration / "known" / p / f"{n}.jpg") for p in people for n in (4, 5, 6)])
    strangers, missing_strangers = labelled([("", p) for p in sorted((calibration / "unknown").glob("*.jpg"))])
    gallery, probes, others = (Faces.of(x, embedder) for x in (enrolled, known, strangers))
    print(
        f"\ncalibration: {len(people)} people, {len(enrolled)} enrolled faces, {len(known)} known probes, "
        f"{len(strangers)} strangers (no face found: {missing_enrolled} enrolled, {missing_known} known, "
        f"{missing_strangers} strangers)"
    )
    print(f"known probes: {len(known) + missing_known}; a probe without a detected face counts as missed")
    print("method   ≤strangers named    right  wrong  missed   cut-off")
    methods: dict[str, Callable[[Faces], np.ndarray]] = {
        "dlib": lambda f: distances(f.dlib, gallery.dlib),
        "faceres": lambda f: distances(f.faceres, gallery.faceres),
        "fused": lambda f: stored.fused(distances(f.dlib, gallery.dlib), distances(f.faceres, gallery.faceres)),
    }
    for name, measure in methods.items():
        named = Nearest.of(measure(probes), gallery.labels)
        table(name, named, probes.labels, missing_known, Nearest.of(measure(others), gallery.labels))

    dlib = OnnxFaceEmbedder(model_files.model_path(model_files.RESNET_EMBEDDING), default_cache_dir())
    costs(dlib, embedder, np.stack([f.crop for _, f in known[:8]]))


if __name__ == "__main__":
    main()
