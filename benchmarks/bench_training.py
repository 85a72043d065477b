"""What training a large group costs on Azurite, from the journal, beside the layout before it (one blob a face).

    python -m benchmarks.bench_training [--faces 100000] [--add 100] [--per-person 5] [--baseline-faces 2000]
                                        [--enroll add|journal]

An Azurite of its own in a temporary folder. A group of `--faces` faces (persons of `--per-person` faces) is
enrolled with synthetic embeddings of the default engine's shape (dlib's 128 values and faceres's 1024, each part
of unit length) instead of detected faces; then it is trained, `--add` faces are added to new persons through the
whole add path, and it is trained again. A smaller group of `--baseline-faces` is trained both ways: from the
journal, and as training read it before the journal (every person record, then every face record, into one .npz),
in the same run, for the ratio. Prints seconds, blobs read and megabytes read of each training.

`--enroll add` (the default) stores each face as an add does (Gallery.store_face: photo, face record, journal
entry; persons through create_person). `--enroll journal` writes, for the large group only, just what training
reads: the person through create_person and each face's journal entry through the very call an add makes (one
append a face), without the photo and face record an add also writes, which training never reads; it enrolls
about three times as fast, which is what makes 100,000 faces fit in a run on a shared machine.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.bench_pipeline import DEFAULT_DATA
from function_app.engines import create_engine, embedding_layout
from function_app.faceapi.local.embedding_journal import add_entry
from function_app.faceapi.local.gallery import EnrolledFace, Gallery
from function_app.faceapi.local.service import LocalFaceApi
from function_app.faceapi.local.training import TrainingRows, build_snapshot
from function_app.models import FaceRectangle
from function_app.settings import Settings
from function_app.storage.azure_storage import AzureStorage
from tests.support import azurite
from tests.support.counting_storage import CountingStorage


@dataclass(frozen=True)
class Measured:
    seconds: float
    reads: int
    megabytes: float
    message: str


class OldLayout:
    """Training as it read a group before the journal (the baseline): every person record, every face record."""

    retrain = ""

    def __init__(self, gallery: Gallery):
        self.gallery = gallery
        self.storage = gallery.storage

    def root(self, owner_id: str) -> str:
        return self.gallery.root(owner_id)

    def snapshot(self, owner_id: str) -> TrainingRows:
        persons = {p.person_id: p.name for p in self.gallery.iter_persons(owner_id)}
        faces = [f for f in self.gallery.iter_faces(owner_id) if f.person_id in persons]
        return TrainingRows([f.person_id for f in faces], [f.embedding for f in faces], persons)

    def describe(self, owner_id: str, rows: TrainingRows) -> str:
        return f"Trained on {len(rows.ids)} faces of {len(set(rows.ids))} persons."


def synthetic_embedding(rng: np.random.Generator) -> np.ndarray:
    parts = [rng.standard_normal(size).astype(np.float32) for size in (128, embedding_layout.FACERES_SIZE)]
    return np.concatenate([part / np.linalg.norm(part) for part in parts])


def enroll(
    api: LocalFaceApi, group_id: str, faces: int, per_person: int, photo: bytes, writers: int, whole_add: bool = True
) -> float:
    """`faces` faces in new persons of `per_person` faces, stored as an add stores them (`whole_add`), or their
    journal entries alone; answers seconds."""
    persons = [min(per_person, faces - start) for start in range(0, faces, per_person)]
    local = threading.local()

    def enroll_person(count: int) -> None:
        if not hasattr(local, "rng"):
            local.rng = np.random.default_rng(uuid.uuid4().int % 2**32)
        person_id = api.create_person(group_id, f"person-{uuid.uuid4().hex[:8]}").person_id
        for _ in range(count):
            face = EnrolledFace(
                str(uuid.uuid4()),
                person_id,
                None,
                FaceRectangle(10, 10, 120, 120),
                "high",
                synthetic_embedding(local.rng),
            )
            if whole_add:
                api.gallery.store_face(group_id, face, photo)
            else:
                api.gallery.journal.append(
                    api.gallery.root(group_id), add_entry(person_id, face.persisted_face_id, face.embedding)
                )

    start = time.perf_counter()
    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(enroll_person, persons))
    return time.perf_counter() - start


def measure(storage: CountingStorage, train) -> Measured:
    storage.forget()
    start = time.perf_counter()
    message = train()
    return Measured(time.perf_counter() - start, storage.reads, storage.bytes_read / 1e6, message)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=100_000)
    parser.add_argument("--add", type=int, default=100)
    parser.add_argument("--per-person", type=int, default=5)
    parser.add_argument("--baseline-faces", type=int, default=2_000)
    parser.add_argument("--writers", type=int, default=8, help="threads enrolling (not training)")
    parser.add_argument("--enroll", choices=("add", "journal"), default="add", help="the large group's faces")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args(argv)
    photo = (args.data / "people/obama/1.jpg").read_bytes()
    with tempfile.TemporaryDirectory() as folder:
        process, connection_string = azurite.start_azurite(Path(folder))
        try:
            storage = CountingStorage(AzureStorage(connection_string))
            settings = Settings()
            api = LocalFaceApi(storage, create_engine(settings), settings)
            old = OldLayout(api.gallery)

            def new_training(group_id: str):
                return lambda: api.train(group_id).message or ""

            def old_training(group_id: str):
                return lambda: build_snapshot(old, group_id).message

            rows = []
            for faces in (args.baseline_faces, args.faces):
                group_id = f"bench-{uuid.uuid4().hex[:8]}"
                api.create_group(group_id, group_id)
                whole_add = faces == args.baseline_faces or args.enroll == "add"
                enrolled = enroll(api, group_id, faces, args.per_person, photo, args.writers, whole_add)
                how = "as adds" if whole_add else "journal entries only"
                per_face = enrolled / faces * 1000
                print(f"enrolled {faces:,} faces ({how}) in {enrolled:.0f} s, {per_face:.1f} ms a face", flush=True)
                trained = measure(storage, new_training(group_id))
                old_trained = measure(storage, old_training(group_id)) if faces == args.baseline_faces else None
                enroll(api, group_id, args.add, args.per_person, photo, args.writers)
                retrained = measure(storage, new_training(group_id))
                old_retrained = measure(storage, old_training(group_id)) if faces == args.baseline_faces else None
                rows.append((faces, "journal", trained, retrained))
                if old_trained and old_retrained:
                    rows.append((faces, "one blob a face (before)", old_trained, old_retrained))
                print(f"  {trained.message} / {retrained.message}", flush=True)
        finally:
            azurite.stop_azurite(process)
    print()
    print(f"| faces | layout | train s | blobs read | MB read | +{args.add} faces, retrain s | blobs read | MB read |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for faces, layout, trained, retrained in rows:
        print(
            f"| {faces:,} | {layout} | {trained.seconds:.2f} | {trained.reads:,} | {trained.megabytes:.0f} "
            f"| {retrained.seconds:.2f} | {retrained.reads:,} | {retrained.megabytes:.1f} |"
        )
    journal_small, old_small = rows[0], rows[1]
    journal_large = rows[2]
    per_face_old = old_small[2].seconds / args.baseline_faces
    print()
    train_ratio = old_small[2].seconds / journal_small[2].seconds
    retrain_ratio = old_small[3].seconds / journal_small[3].seconds
    print(
        f"ratio at {args.baseline_faces:,} faces, before / journal: "
        f"train {train_ratio:.1f}x, retrain {retrain_ratio:.1f}x"
    )
    print(
        f"at {args.faces:,} faces: train {journal_large[2].seconds:.1f} s (target 60), retrain "
        f"{journal_large[3].seconds:.2f} s (target 5); the layout before, scaled from "
        f"{per_face_old * 1000:.1f} ms a face: about {per_face_old * args.faces:.0f} s for either"
    )


if __name__ == "__main__":
    main()
