"""The dev video through the frame path as a camera sends it: its visits, and what tracking costs.

    python -m benchmarks.video_visits [--data ../shared/testdata/dev] [--fps 15] [--no-azurite]

dev/people is enrolled (default settings) and the video's frames are posted in order as JPEG, at `--fps` of
the video's time (the frame times are the video's, so the result does not depend on this machine's speed).
Prints the visit table, the visit events in order, every face named after the audience cut, then, on local
storage and on Azurite (started here), ms a frame with tracking (TRACK_IDENTIFY_SECONDS default: a named
track needs detection only) and with every face identified every frame (TRACK_IDENTIFY_SECONDS=0), split
into decoding and detection, identification, and the rest (tracking: the camera's state, association,
evidence, visits and their records; of which the events: working them out, logging and queueing them),
with the storage writes per frame and per visit.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import cv2

from function_app.events.records import VisitEvent
from function_app.features import frames as frames_module
from function_app.features.enrollment import enroll_folder
from function_app.runtime import runtime_for
from function_app.settings import Settings
from function_app.storage.layout import CAMERAS_CONTAINER, VISITS_CONTAINER
from function_app.visits.records import VisitRecord
from tests.support import azurite

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "dev"
VIDEO = "video/short_hamilton_clip.mp4"
CUTS = (20, 82, 211)  # testdata/README: the first frames of the shots after the first
GROUP = "video-visits"
START = datetime(2026, 1, 1, 12, tzinfo=UTC)
T = TypeVar("T")


@dataclass(frozen=True)
class Replay:
    visits: list[VisitRecord]
    names_by_frame: dict[int, list[str]]
    faces: int
    identified_faces: int
    ms_per_frame: float
    decode_ms: float  # a frame: decoding the JPEG (the same with or without tracking)
    detect_ms: float  # finding the faces (the same with or without tracking)
    identify_ms: float
    writes: Counter[str]  # blob writes (and deletes) by container
    events: list[VisitEvent]
    events_ms: float  # a frame: working out the visit events, logging and queueing them

    @property
    def frames(self) -> int:
        return len(self.names_by_frame)

    @property
    def tracking_ms(self) -> float:
        return self.ms_per_frame - self.decode_ms - self.detect_ms - self.identify_ms


def _timed(counter: defaultdict[str, float], key: str, function: Callable[..., T]) -> Callable[..., T]:
    def timed(*args: Any, **kwargs: Any) -> T:
        began = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            counter[key] += time.perf_counter() - began

    return timed


def replay(data: Path, settings: Settings, fps: float) -> Replay:
    with tempfile.TemporaryDirectory() as folder:
        runtime = runtime_for(replace(settings, storage_dir=folder))
        group = f"{GROUP}-{uuid.uuid4().hex[:6]}"
        enroll_folder(runtime.face_api, group, data / "people")
        video = cv2.VideoCapture(str(data / VIDEO))
        video_fps = video.get(cv2.CAP_PROP_FPS) or 30.0
        every = max(1, round(video_fps / fps))
        names: dict[int, list[str]] = {}
        seconds: defaultdict[str, float] = defaultdict(float)
        writes: Counter[str] = Counter()
        face_api, storage = runtime.face_api, runtime.storage
        identified = Counter[str]()
        identify = face_api.identify_faces

        def identify_counted(group_id: str, image: Any, faces: list[Any], **options: Any) -> Any:
            identified["faces"] += len(faces)
            return identify(group_id, image, faces, **options)

        face_api.identify_faces = _timed(seconds, "identify", identify_counted)  # type: ignore[method-assign]
        face_api.find_faces = _timed(seconds, "detect", face_api.find_faces)  # type: ignore[method-assign]
        decode, announce, publish = frames_module.decode_upload, frames_module.announce, frames_module.publish
        frames_module.decode_upload = _timed(seconds, "decode", decode)
        events: list[VisitEvent] = []

        def publish_kept(storage: Any, published: list[VisitEvent]) -> None:
            events.extend(published)
            publish(storage, published)

        frames_module.announce = _timed(seconds, "events", announce)
        frames_module.publish = _timed(seconds, "events", publish_kept)
        put, delete = storage.put_blob, storage.delete_blob

        def put_counted(container: str, name: str, blob: bytes, **options: Any) -> str:
            writes[container] += 1
            return put(container, name, blob, **options)

        def delete_counted(container: str, name: str, **options: Any) -> bool:
            writes[container] += 1
            return delete(container, name, **options)

        storage.put_blob = put_counted  # type: ignore[method-assign,assignment]
        storage.delete_blob = delete_counted  # type: ignore[method-assign]
        camera = f"stage-{uuid.uuid4().hex[:6]}"
        index = 0
        while True:
            ok, bgr = video.read()
            if not ok:
                break
            if index % every == 0:
                jpeg = cv2.imencode(".jpg", bgr)[1].tobytes()
                moment = START + timedelta(seconds=index / video_fps)
                began = time.perf_counter()
                result = runtime.frames.recognize_frame(group, camera, jpeg, moment=moment)
                seconds["total"] += time.perf_counter() - began
                names[index] = [f.name for f in result.faces]
                identified["answered"] += len(result.faces)
            index += 1
        video.release()
        frames_module.decode_upload = decode
        runtime.frames.rules = replace(runtime.frames.rules, close_after=0.0)
        runtime.frames.close_silent_cameras()
        frames_module.announce, frames_module.publish = announce, publish
        visits = [
            VisitRecord.from_dict(json.loads(storage.get_blob(VISITS_CONTAINER, b.name).data))
            for b in storage.list_blobs(VISITS_CONTAINER, f"{START:%Y%m%d}/")
            if b.name.endswith(".json")
        ]
        visits = [v for v in visits if v.camera == camera]
        runtime_for.cache_clear()
    frames = max(1, len(names))
    return Replay(
        visits,
        names,
        identified["answered"],
        identified["faces"],
        1000 * seconds["total"] / frames,
        1000 * seconds["decode"] / frames,
        1000 * seconds["detect"] / frames,
        1000 * seconds["identify"] / frames,
        writes,
        events,
        1000 * seconds["events"] / frames,
    )


def frame_of(moment: datetime, video_fps: float = 29.97) -> int:
    return round((moment - START).total_seconds() * video_fps)


def print_visits(run: Replay) -> None:
    print("| visit | name | confidence | first frame | last frame | frames | shot(s) | snapshot |")
    print("|---|---|---|---|---|---|---|---|")
    for v in sorted(run.visits, key=lambda v: v.first_seen):
        first, last = frame_of(v.first_seen), frame_of(v.last_seen)
        shots = sorted({sum(f >= c for c in CUTS) for f in (first, last)})
        snap = "yes" if v.snapshot else "no"
        print(f"| {v.visit_id} | {v.name} | {v.confidence:.3f} | {first} | {last} | {v.frames} | {shots} | {snap} |")
    print("\n| event | frame | visit | name | confidence |")
    print("|---|---|---|---|---|")
    for event in run.events:  # the close comes after the video, at no frame of it
        at = frame_of(event.time) if event.time < START + timedelta(days=1) else "after the video"
        v = event.visit
        print(f"| {event.kind} | {at} | {v.visit_id} | {v.name} | {v.confidence:.3f} |")
    after = Counter(n for i, ns in run.names_by_frame.items() if i >= CUTS[-1] for n in ns)
    print(f"\nfaces answered after frame {CUTS[-1]} (the audience shot), by name: {dict(after)}")


def print_costs(runs: dict[str, Replay]) -> None:
    columns = "storage | way | ms a frame | decode | detect | identify | tracking | of which events"
    print(f"\n| {columns} | faces identified / answered |", end="")
    print(" camera-state writes a frame | visit writes a visit |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for label, run in runs.items():
        state = run.writes[CAMERAS_CONTAINER] / run.frames
        per_visit = run.writes[VISITS_CONTAINER] / max(1, len(run.visits))
        print(
            f"| {label} | {run.ms_per_frame:.1f} | {run.decode_ms:.2f} | {run.detect_ms:.1f} | {run.identify_ms:.1f} | "
            f"{run.tracking_ms:.2f} | {run.events_ms:.3f} | {run.identified_faces} / {run.faces} | {state:.2f} | "
            f"{per_visit:.1f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--fps", type=float, default=15.0, help="frames a second sent, of the video's time")
    parser.add_argument("--no-azurite", action="store_true", help="local storage only")
    args = parser.parse_args()
    local = replace(Settings.from_env(), storage_backend="local")
    every_frame = replace(local, track_identify_seconds=0.0)
    runs = {"local | tracks (default)": replay(args.data, local, args.fps)}
    runs["local | every face every frame"] = replay(args.data, every_frame, args.fps)
    if not args.no_azurite:
        with tempfile.TemporaryDirectory() as folder:
            process, connection = azurite.start_azurite(Path(folder))
            try:
                on_azurite = replace(local, storage_backend="azure", storage_connection_string=connection)
                runs["Azurite | tracks (default)"] = replay(args.data, on_azurite, args.fps)
            finally:
                azurite.stop_azurite(process)
    tracked = runs["local | tracks (default)"]
    print(f"dev video at {args.fps:g} frames/s: {tracked.frames} frames, {tracked.faces} faces\n")
    print_visits(tracked)
    print_costs(runs)
    baseline = runs["local | every face every frame"]
    print(f"\nevery face every frame / tracks: {baseline.ms_per_frame / tracked.ms_per_frame:.2f}x the time a frame")


if __name__ == "__main__":
    main()
