"""The dev video through the frame path as a camera sends it: its visits, and what tracking costs.

    python -m benchmarks.video_visits [--data ../shared/testdata/dev] [--fps 15]

dev/people is enrolled (local storage in a temporary folder, default settings) and the video's frames are
posted in order as JPEG, at `--fps` of the video's time (the frame times are the video's, so the result
does not depend on this machine's speed). Prints the visit table, each shot's visits, every face named
after the audience cut, and ms a frame with tracking (TRACK_IDENTIFY_SECONDS default: a named track needs
detection only) and with every face identified every frame (TRACK_IDENTIFY_SECONDS=0), in one run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2

from function_app.features.enrollment import enroll_folder
from function_app.runtime import runtime_for
from function_app.settings import Settings
from function_app.storage.layout import VISITS_CONTAINER
from function_app.visits.records import VisitRecord

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "dev"
VIDEO = "video/short_hamilton_clip.mp4"
CUTS = (20, 82, 211)  # testdata/README: the first frames of the shots after the first
GROUP = "video-visits"
START = datetime(2026, 1, 1, 12, tzinfo=UTC)


@dataclass(frozen=True)
class Replay:
    visits: list[VisitRecord]
    names_by_frame: dict[int, list[str]]
    visits_by_frame: dict[int, list[str | None]]
    ms_per_frame: float
    identified_faces: int
    faces: int


def replay(data: Path, settings: Settings, fps: float) -> Replay:
    with tempfile.TemporaryDirectory() as folder:
        runtime = runtime_for(replace(settings, storage_dir=folder))
        enroll_folder(runtime.face_api, GROUP, data / "people")
        video = cv2.VideoCapture(str(data / VIDEO))
        video_fps = video.get(cv2.CAP_PROP_FPS) or 30.0
        every = max(1, round(video_fps / fps))
        names: dict[int, list[str]] = {}
        visit_ids: dict[int, list[str | None]] = {}
        spent = 0.0
        faces = 0
        identified = Counter[str]()
        original = runtime.face_api.identify_faces

        def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
            answers = original(*args, **kwargs)
            identified["faces"] += len(answers)
            return answers

        runtime.face_api.identify_faces = counting  # type: ignore[method-assign]
        index = 0
        while True:
            ok, bgr = video.read()
            if not ok:
                break
            if index % every == 0:
                jpeg = cv2.imencode(".jpg", bgr)[1].tobytes()
                moment = START + timedelta(seconds=index / video_fps)
                began = time.perf_counter()
                result = runtime.frames.recognize_frame(GROUP, "stage", jpeg, moment=moment)
                spent += time.perf_counter() - began
                faces += len(result.faces)
                names[index] = [f.name for f in result.faces]
                visit_ids[index] = [f.visit_id for f in result.faces]
            index += 1
        video.release()
        runtime.frames.rules = replace(runtime.frames.rules, close_after=0.0)
        runtime.frames.close_silent_cameras()
        visits = [
            VisitRecord.from_dict(__import__("json").loads(runtime.storage.get_blob(VISITS_CONTAINER, b.name).data))
            for b in runtime.storage.list_blobs(VISITS_CONTAINER)
            if b.name.endswith(".json")
        ]
        runtime_for.cache_clear()
    return Replay(visits, names, visit_ids, 1000 * spent / max(1, len(names)), identified["faces"], faces)


def frame_of(moment: datetime, video_fps: float = 29.97) -> int:
    return round((moment - START).total_seconds() * video_fps)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--fps", type=float, default=15.0, help="frames a second sent, of the video's time")
    args = parser.parse_args()
    settings = replace(Settings.from_env(), storage_backend="local")
    tracked = replay(args.data, settings, args.fps)
    every_frame = replay(args.data, replace(settings, track_identify_seconds=0.0), args.fps)
    print(f"dev video at {args.fps:g} frames/s: {len(tracked.names_by_frame)} frames, {tracked.faces} faces")
    print("\n| visit | name | confidence | first frame | last frame | frames | shot(s) | snapshot |")
    print("|---|---|---|---|---|---|---|---|")
    for v in sorted(tracked.visits, key=lambda v: v.first_seen):
        first, last = frame_of(v.first_seen), frame_of(v.last_seen)
        shots = sorted({sum(f >= c for c in CUTS) for f in (first, last)})
        snap = "yes" if v.snapshot else "no"
        print(f"| {v.visit_id} | {v.name} | {v.confidence:.3f} | {first} | {last} | {v.frames} | {shots} | {snap} |")
    after = Counter(n for i, ns in tracked.names_by_frame.items() if i >= CUTS[-1] for n in ns)
    print(f"\nfaces answered after frame {CUTS[-1]} (the audience shot), by name: {dict(after)}")
    print("\n| way | ms a frame | faces identified | faces |")
    print("|---|---|---|---|")
    for label, run in (("tracks (default)", tracked), ("every face every frame", every_frame)):
        print(f"| {label} | {run.ms_per_frame:.1f} | {run.identified_faces} | {run.faces} |")
    print(f"ratio: {every_frame.ms_per_frame / tracked.ms_per_frame:.2f}x")


if __name__ == "__main__":
    main()
