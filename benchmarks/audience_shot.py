"""How the dev video's audience shot is answered: every frame of 211-274, where Barack Obama
(enrolled) sits in the audience, turned and laughing, between two people who are not enrolled.

    python -m benchmarks.audience_shot [--data ../shared/testdata/dev]

dev/people is enrolled (local storage in a temporary folder, the default settings, or FACE_MATCH_RULE
from the environment) and each frame of the shot is recognised as the frames endpoint does. Prints,
per frame, the faces named Obama, left Unknown, or named as someone else (a wrong answer: nobody
else enrolled is in that shot).
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import cv2

from function_app.faceapi import recognize
from function_app.features.enrollment import enroll_folder
from function_app.models import UNKNOWN, Image
from function_app.runtime import runtime_for
from function_app.settings import Settings

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "dev"
VIDEO = "video/short_hamilton_clip.mp4"
SHOT = range(211, 275)  # testdata/README: the audience shot
PERSON = "obama"


@dataclass(frozen=True)
class ShotCount:
    frames: int
    faces: Counter[str]  # per face: "obama", "Unknown" or "someone else"
    frames_naming_obama: int
    frames_naming_someone_else: int
    others_named: Counter[str]


def count_shot(data: Path, settings: Settings) -> ShotCount:
    faces: Counter[str] = Counter()
    others: Counter[str] = Counter()
    frames = naming_obama = naming_else = 0
    with tempfile.TemporaryDirectory() as folder:
        face_api = runtime_for(replace(settings, storage_dir=folder)).face_api
        enroll_folder(face_api, "audience", data / "people")
        video = cv2.VideoCapture(str(data / VIDEO))
        video.set(cv2.CAP_PROP_POS_FRAMES, SHOT.start)
        for _ in SHOT:
            ok, bgr = video.read()
            if not ok:
                break
            frames += 1
            names = [f.name for f in recognize(face_api, "audience", Image(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))]
            named_else = [n for n in names if n not in (PERSON, UNKNOWN)]
            faces.update(n if n in (PERSON, UNKNOWN) else "someone else" for n in names)
            others.update(named_else)
            naming_obama += PERSON in names
            naming_else += bool(named_else)
        video.release()
    return ShotCount(frames, faces, naming_obama, naming_else, others)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    settings = Settings.from_env()
    count = count_shot(args.data, replace(settings, storage_backend="local"))
    print(f"audience shot (frames {SHOT.start}-{SHOT.stop - 1}), FACE_MATCH_RULE={settings.match_rule}:")
    faces = count.faces
    print(f"  {count.frames} frames; faces: {faces[PERSON]} named Obama, {faces[UNKNOWN]} Unknown, ", end="")
    print(f"{faces['someone else']} named as someone else {dict(count.others_named)}")
    print(f"  frames naming Obama: {count.frames_naming_obama}; frames naming someone else: ", end="")
    print(count.frames_naming_someone_else)


if __name__ == "__main__":
    main()
