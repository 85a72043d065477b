"""What an Unknown visit costs to remember and to search, and how well `similar` finds the same stranger.

    python -m benchmarks.unknown_visitors [--data ../shared/testdata] [--strangers 120]

Local storage in a temporary folder, default settings. Closed Unknown visits are stored as the frame path
stores them (the snapshot cut around the photo's largest face): the 90 photos of dev/people_lfw (9 people,
10 each) and `--strangers` one-photo people of calibration/unknown. Each visit goes through the unknown-visits
handler (its face added to the group's large face list), the list is trained at a few sizes, every LFW visit
asks `similar`, and the purge deletes them all. Prints ms and storage operations per step, and the ratio of
each to one dev-video frame through the frame path (measured in the same run: this machine's speed cancels
out), and the matches found: same person (of the 9 other photos each) and other people (none wanted).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import cv2

from function_app.clock import utc_now
from function_app.faceapi import create_face_api
from function_app.features.enrollment import enroll_folder
from function_app.features.frames import FrameTracker
from function_app.imaging import decode_upload
from function_app.models import UNKNOWN
from function_app.settings import Settings
from function_app.storage import Storage
from function_app.storage.local_folder import LocalFolderStorage
from function_app.visits.index import create_visit_index
from function_app.visits.records import VisitRecord, new_visit_id
from function_app.visits.snapshots import snapshot_jpeg
from function_app.visits.store import VisitStore
from function_app.visits.strangers import purge_strangers, remember_stranger, similar_visits, strangers_list_id

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "testdata"
GROUP = "unknown-visitors"
FRAME = 100  # of the dev video: Lin-Manuel Miranda, frontal (testdata/README)
T = TypeVar("T")
X = TypeVar("X")


class CountingStorage:
    """A storage that counts the calls made to it, by method (blob reads, writes, lists, queue sends)."""

    def __init__(self, inner: Storage):
        self.inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return method(*args, **kwargs)

        return counted


@dataclass(frozen=True)
class Step:
    label: str
    count: int
    ms: float  # a step, mean
    calls: Counter[str]  # storage calls, in all

    def per_step(self) -> str:
        return ", ".join(f"{name} {n / self.count:.1f}" for name, n in sorted(self.calls.items()))


def measured(storage: CountingStorage, label: str, do: Callable[[X], T], items: list[X]) -> tuple[Step, list[T]]:
    """`do` of each item: the mean ms and the storage calls."""
    storage.calls.clear()
    start = time.perf_counter()
    results = [do(item) for item in items]
    ms = (time.perf_counter() - start) * 1000 / max(1, len(items))
    return Step(label, len(items), ms, Counter(storage.calls)), results


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--strangers", type=int, default=120)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run(args.data, args.strangers, Path(folder))


def run(data: Path, strangers: int, folder: Path) -> None:
    settings = Settings(storage_dir=str(folder))
    storage = CountingStorage(LocalFolderStorage(folder))
    face_api = create_face_api(settings, storage)
    visits = VisitStore(storage, create_visit_index(settings))
    frames = FrameTracker(face_api, storage, settings, visits)
    enroll_folder(face_api, GROUP, data / "dev" / "people")

    video = cv2.VideoCapture(str(data / "dev" / "video" / "short_hamilton_clip.mp4"))
    video.set(cv2.CAP_PROP_POS_FRAMES, FRAME)
    frame = cv2.imencode(".jpg", video.read()[1])[1].tobytes()
    video.release()
    baseline, _ = measured(
        storage,
        "a dev-video frame through /api/frames (the baseline)",
        lambda n: frames.recognize_frame(GROUP, f"cam{n % 4}", frame),
        list(range(20)),
    )

    photos = [(p.parent.name, p) for p in sorted((data / "dev" / "people_lfw").glob("*/*.jpg"))]
    photos += [(f"stranger-{p.stem}", p) for p in sorted((data / "calibration" / "unknown").glob("*.jpg"))][:strangers]
    now = utc_now() - timedelta(hours=1)
    people: dict[str, str] = {}  # visit id -> person
    for n, (person, photo) in enumerate(photos):
        image = decode_upload(photo.read_bytes(), settings)
        faces = face_api.find_faces(image)
        if not faces:
            continue
        face = max(faces, key=lambda f: f.rectangle.width)
        seen = now + timedelta(seconds=n)
        record = VisitRecord(new_visit_id(seen), "door", "door", GROUP, None, UNKNOWN, 0.0, seen, seen, 3, True, None)
        people[visits.save(record, snapshot_jpeg(image, face.rectangle)).visit_id] = person

    list_id = strangers_list_id(GROUP)
    order = list(people)
    remembered: list[Step] = []
    trainings: list[Step] = []
    done = 0
    for size in sorted({10, 50, 100, len(order)}):  # a list trained at these sizes: what a visit's training costs
        if size > len(order):
            continue
        step, _ = measured(
            storage,
            "an Unknown visit remembered (the unknown-visits message)",
            lambda v: remember_stranger(face_api, visits, json.dumps({"visitId": v})),
            order[done:size],
        )
        remembered.append(step)
        done = size
        step, _ = measured(storage, f"a training of the list at {size} faces", face_api.train_list, [list_id])
        trainings.append(step)
    remember = Step(
        remembered[0].label,
        sum(s.count for s in remembered),
        sum(s.ms * s.count for s in remembered) / sum(s.count for s in remembered),
        sum((s.calls for s in remembered), Counter()),
    )

    lfw = [v for v, person in people.items() if not person.startswith("stranger-")]
    searched, answers = measured(
        storage,
        "a visit's similar visits (GET .../similar)",
        lambda v: similar_visits(face_api, visits, settings, v, top=20, days=None),
        lfw,
    )
    later = utc_now() + timedelta(days=settings.unknown_visit_retention_days + 1)
    purged, deleted = measured(
        storage, "the purge, all faces past the retention", lambda at: purge_strangers(face_api, settings, at), [later]
    )

    print(f"{len(people)} Unknown visits ({len(lfw)} of the 9 people of dev/people_lfw, the rest strangers once)")
    print("\n| step | n | ms a step | × a frame | storage calls a step |")
    print("|---|---|---|---|---|")
    for step in (baseline, remember, *trainings, searched, purged):
        print(f"| {step.label} | {step.count} | {step.ms:.1f} | {step.ms / baseline.ms:.2f} | {step.per_step()} |")
    print(f"\nthe purge deleted {deleted[0]} faces")

    same = found_same = other = 0
    for visit_id, answer in zip(lfw, answers, strict=True):
        person = people[visit_id]
        same += sum(1 for v, p in people.items() if p == person and v != visit_id)
        found = [people[s.visit.visit_id] for s in answer.similar]
        found_same += sum(1 for p in found if p == person)
        other += sum(1 for p in found if p != person)
    print("\n| similar over the LFW visits | count |")
    print("|---|---|")
    print(f"| same-person visits that could be found | {same} |")
    print(f"| found | {found_same} ({100 * found_same / max(1, same):.0f} %) |")
    print(f"| other people's visits found (wrong) | {other} |")
    print(f"| queries answering nothing | {sum(1 for a in answers if not a.similar)} of {len(answers)} |")


if __name__ == "__main__":
    main()
