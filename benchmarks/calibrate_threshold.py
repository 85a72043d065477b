"""Calibrate FACE_MATCH_THRESHOLD on the real photos of ../shared/testdata/dev.

Enrolled: every photo of people/ (6 persons) and photos 1–3 of five LFW persons.
Known probes: the single-face scene photos and LFW photos 4–10 of the enrolled LFW persons.
Unknown probes: all photos of the four LFW persons not enrolled.
Prints, for each threshold, how many probes are identified correctly, identified wrongly,
missed, and how many unknown faces are rejected.

    python -m benchmarks.calibrate_threshold [--data ../shared/testdata/dev]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from function_app.engines.dlib_engine import DlibFaceEngine

from .photo_faces import central_face, read_photo

ENROLLED_LFW = ["ariel_sharon", "arnold_schwarzenegger", "colin_powell", "donald_rumsfeld", "george_w_bush"]
UNKNOWN_LFW = ["gerhard_schroeder", "hugo_chavez", "jacques_chirac", "vladimir_putin"]
SCENE_PROBES = {
    "obama1.jpg": "obama",
    "johnsnow_test1.jpg": "kit_harington",
    "alex_lacamoire1.jpg": "alex_lacamoire",
    "obama3.jpg": "obama",
    "obama_small.jpg": "obama",
    "obama-480p.jpg": "obama",
}
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "dev"


def central_embedding(engine: DlibFaceEngine, path: Path) -> np.ndarray | None:
    rgb = read_photo(path)
    face = central_face(engine.detect(rgb), rgb)
    return None if face is None else face.embedding


def collect(data: Path, engine: DlibFaceEngine):
    # (person, embedding), None where no face is found
    enrolled: list[tuple[str, np.ndarray | None]] = []
    known: list[tuple[str, np.ndarray | None]] = []
    unknown: list[tuple[str, np.ndarray | None]] = []
    for folder in sorted((data / "people").iterdir()):
        for photo in sorted(folder.iterdir()):
            enrolled.append((folder.name, central_embedding(engine, photo)))
    for person in ENROLLED_LFW:
        for n in range(1, 11):
            target = enrolled if n <= 3 else known
            target.append((person, central_embedding(engine, data / "people_lfw" / person / f"{n}.jpg")))
    for scene, person in SCENE_PROBES.items():
        known.append((person, central_embedding(engine, data / "scenes" / scene)))
    for person in UNKNOWN_LFW:
        for n in range(1, 11):
            unknown.append((person, central_embedding(engine, data / "people_lfw" / person / f"{n}.jpg")))
    missing = sum(e is None for _, e in enrolled + known + unknown)
    return (
        [(p, e) for p, e in enrolled if e is not None],
        [(p, e) for p, e in known if e is not None],
        [(p, e) for p, e in unknown if e is not None],
        missing,
    )


def nearest(enrolled, embedding) -> tuple[str, float]:
    names = [p for p, _ in enrolled]
    distances = np.linalg.norm(np.stack([e for _, e in enrolled]) - embedding, axis=1)
    i = int(np.argmin(distances))
    return names[i], float(distances[i])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    enrolled, known, unknown = collect(args.data, DlibFaceEngine())[:3]
    known_matches = [(truth, *nearest(enrolled, e)) for truth, e in known]
    unknown_distances = [nearest(enrolled, e)[1] for _, e in unknown]
    print(f"enrolled faces {len(enrolled)}, known probes {len(known)}, unknown probes {len(unknown)}")
    print("threshold  correct  wrong  missed  unknown-rejected  unknown-accepted")
    for threshold in np.arange(0.30, 0.61, 0.02):
        correct = sum(d <= threshold and got == truth for truth, got, d in known_matches)
        wrong = sum(d <= threshold and got != truth for truth, got, d in known_matches)
        rejected = sum(d > threshold for d in unknown_distances)
        print(
            f"{threshold:9.2f}  {correct:7d}  {wrong:5d}  {len(known) - correct - wrong:6d}  "
            f"{rejected:16d}  {len(unknown) - rejected:16d}"
        )
    genuine = sorted(d for truth, got, d in known_matches if got == truth)
    print(f"genuine nearest distances: min {genuine[0]:.3f} median {np.median(genuine):.3f} max {genuine[-1]:.3f}")
    print(f"unknown nearest distances: min {min(unknown_distances):.3f} median {np.median(unknown_distances):.3f}")


if __name__ == "__main__":
    main()
