"""What training a large group or large face list costs on Azurite, from the journal, beside the layout before it
(one blob a face).

    python -m benchmarks.bench_training [--kind group|list] [--faces 100000] [--add 100] [--per-person 5]
                                        [--baseline-faces 2000] [--enroll add|journal]

An Azurite of its own in a temporary folder. `--kind group` (the default): a group of `--faces` faces (persons of
`--per-person` faces); `--kind list`: a large face list of `--faces` faces (each its own row, as find-similar
searches them). Faces are enrolled with synthetic embeddings of the default engine's shape (dlib's 128 values and
faceres's 1024, each part of unit length) instead of detected faces; then the group or list is trained, `--add`
faces are added through the whole add path, and it is trained again. A smaller one of `--baseline-faces` is
trained both ways: from the journal, and as training read it before the journal (a group: every person record,
then every face record; a list: every face record; into one .npz), in the same run, for the ratio. Prints
seconds, blobs read and megabytes read of each training.

`--enroll add` (the default) stores each face as an add does (Gallery.store_face or FaceListStore.store_face:
photo, face record, journal entry; persons through create_person). `--enroll journal` writes, for the large one
only, just what training reads: persons through create_person and each face's journal entry through the very
call an add makes (one append a face), without the photo and face record an add also writes, which training
never reads; it enrolls about three times as fast, which is what makes 100,000 faces fit in a run on a shared
machine.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from benchmarks.bench_pipeline import DEFAULT_DATA
from function_app.engines import create_engine, embedding_layout
from function_app.faceapi.face_lists import ListKind
from function_app.faceapi.local.embedding_journal import add_entry
from function_app.faceapi.local.face_lists import FaceListStore
from function_app.faceapi.local.gallery import EnrolledFace, Gallery
from function_app.faceapi.local.service import LocalFaceApi
from function_app.faceapi.local.training import TrainingRows, build_snapshot
from function_app.models import FaceRectangle
from function_app.settings import Settings
from function_app.storage import Storage
from function_app.storage.azure_storage import AzureStorage
from tests.support import azurite
from tests.support.counting_storage import CountingStorage

LARGE = ListKind.LARGE_FACE_LIST


@dataclass(frozen=True)
class Measured:
    seconds: float
    reads: int
    megabytes: float
    message: str


@dataclass
class RecordsLayout:
    """Training as it read a group or a large face list before the journal (the baseline): one record a face (and a
    group's person records), into one .npz (training.build_snapshot)."""

    storage: Storage
    root: Callable[[str], str]
    snapshot: Callable[[str], TrainingRows]
    describe: Callable[[str, TrainingRows], str]
    retrain: str = ""


def group_records(gallery: Gallery) -> RecordsLayout:
    def snapshot(group_id: str) -> TrainingRows:
        persons = {p.person_id: p.name for p in gallery.iter_persons(group_id)}
        faces = [f for f in gallery.iter_faces(group_id) if f.person_id in persons]
        return TrainingRows([f.person_id for f in faces], [f.embedding for f in faces], persons)

    def describe(group_id: str, rows: TrainingRows) -> str:
        return f"Trained on {len(rows.ids)} faces of {len(set(rows.ids))} persons."

    return RecordsLayout(gallery.storage, gallery.root, snapshot, describe)


def list_records(store: FaceListStore) -> RecordsLayout:
    def snapshot(list_id: str) -> TrainingRows:
        ids, embeddings = [], []
        for face in store.faces(LARGE, list_id):
            ids.append(face.persisted_face_id)
            embeddings.append(face.embedding)
        return TrainingRows(ids, embeddings, {face_id: face_id for face_id in ids})

    def describe(list_id: str, rows: TrainingRows) -> str:
        return f"Trained on {len(rows.ids)} faces."

    return RecordsLayout(store.storage, partial(store.data_prefix, LARGE), snapshot, describe)


def synthetic_embedding(rng: np.random.Generator) -> np.ndarray:
    parts = [rng.standard_normal(size).astype(np.float32) for size in (128, embedding_layout.FACERES_SIZE)]
    return np.concatenate([part / np.linalg.norm(part) for part in parts])


def synthetic_face(owner_id: str, rng: np.random.Generator) -> EnrolledFace:
    return EnrolledFace(
        str(uuid.uuid4()), owner_id, None, FaceRectangle(10, 10, 120, 120), "high", synthetic_embedding(rng)
    )


@dataclass(frozen=True)
class Subject:
    """What is trained, and how: a group (`owner` a group id) or a large face list (a list id)."""

    kind: str
    create: Callable[[], str]
    add_faces: Callable[[str, int, np.random.Generator, bool], None]  # (owner, count, rng, whole_add)
    train: Callable[[str], str]  # from the journal: the status's message
    records: RecordsLayout  # as training read it before the journal

    def train_from_records(self, owner_id: str) -> str:
        return build_snapshot(self.records, owner_id).message


def group_subject(api: LocalFaceApi, photo: bytes) -> Subject:
    def create() -> str:
        group_id = f"bench-{uuid.uuid4().hex[:8]}"
        api.create_group(group_id, group_id)
        return group_id

    def add_person(group_id: str, count: int, rng: np.random.Generator, whole_add: bool) -> None:
        """A new person of `count` faces, stored as an add stores them (`whole_add`), or their journal entries."""
        person_id = api.create_person(group_id, f"person-{uuid.uuid4().hex[:8]}").person_id
        for _ in range(count):
            face = synthetic_face(person_id, rng)
            if whole_add:
                api.gallery.store_face(group_id, face, photo)
            else:
                entry = add_entry(person_id, face.persisted_face_id, face.embedding)
                api.gallery.journal.append(api.gallery.root(group_id), entry)

    records = group_records(api.gallery)
    return Subject("group", create, add_person, lambda owner: api.train(owner).message or "", records)


def list_subject(api: LocalFaceApi, photo: bytes) -> Subject:
    store = api.face_lists

    def create() -> str:
        list_id = f"bench-{uuid.uuid4().hex[:8]}"
        api.create_face_list(LARGE, list_id, list_id)
        return list_id

    def add_faces(list_id: str, count: int, rng: np.random.Generator, whole_add: bool) -> None:
        """`count` faces stored as an add stores them (`whole_add`), or their journal entries alone."""
        for _ in range(count):
            face = synthetic_face(list_id, rng)
            if whole_add:
                store.store_face(LARGE, list_id, face, photo)
            else:
                face_id = face.persisted_face_id
                store.journal.append(store.data_prefix(LARGE, list_id), add_entry(face_id, face_id, face.embedding))

    records = list_records(store)
    return Subject("large face list", create, add_faces, lambda owner: api.train_list(owner).message or "", records)


def enroll(subject: Subject, owner_id: str, faces: int, per_person: int, writers: int, whole_add: bool = True) -> float:
    """`faces` faces in batches of `per_person` (a group's: new persons), `writers` at once; answers seconds."""
    batches = [min(per_person, faces - start) for start in range(0, faces, per_person)]
    local = threading.local()

    def add_batch(count: int) -> None:
        if not hasattr(local, "rng"):
            local.rng = np.random.default_rng(uuid.uuid4().int % 2**32)
        subject.add_faces(owner_id, count, local.rng, whole_add)

    start = time.perf_counter()
    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(add_batch, batches))
    return time.perf_counter() - start


def measure(storage: CountingStorage, train: Callable[[], str]) -> Measured:
    storage.forget()
    start = time.perf_counter()
    message = train()
    return Measured(time.perf_counter() - start, storage.reads, storage.bytes_read / 1e6, message)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=("group", "list"), default="group", help="a group, or a large face list")
    parser.add_argument("--faces", type=int, default=100_000)
    parser.add_argument("--add", type=int, default=100)
    parser.add_argument("--per-person", type=int, default=5)
    parser.add_argument("--baseline-faces", type=int, default=2_000)
    parser.add_argument("--writers", type=int, default=8, help="threads enrolling (not training)")
    parser.add_argument("--enroll", choices=("add", "journal"), default="add", help="the large one's faces")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args(argv)
    photo = (args.data / "people/obama/1.jpg").read_bytes()
    with tempfile.TemporaryDirectory() as folder:
        process, connection_string = azurite.start_azurite(Path(folder))
        try:
            storage = CountingStorage(AzureStorage(connection_string))
            settings = Settings()
            api = LocalFaceApi(storage, create_engine(settings), settings)
            subject = (group_subject if args.kind == "group" else list_subject)(api, photo)
            rows = []
            for faces in (args.baseline_faces, args.faces):
                owner_id = subject.create()
                baseline = faces == args.baseline_faces
                whole_add = baseline or args.enroll == "add"
                enrolled = enroll(subject, owner_id, faces, args.per_person, args.writers, whole_add)
                how = "as adds" if whole_add else "journal entries only"
                per_face = enrolled / faces * 1000
                print(f"enrolled {faces:,} faces ({how}) in {enrolled:.0f} s, {per_face:.1f} ms a face", flush=True)
                trained = measure(storage, partial(subject.train, owner_id))
                old_trained = measure(storage, partial(subject.train_from_records, owner_id)) if baseline else None
                enroll(subject, owner_id, args.add, args.per_person, args.writers)
                retrained = measure(storage, partial(subject.train, owner_id))
                old_retrained = measure(storage, partial(subject.train_from_records, owner_id)) if baseline else None
                rows.append((faces, "journal", trained, retrained))
                if old_trained and old_retrained:
                    rows.append((faces, "one blob a face (before)", old_trained, old_retrained))
                print(f"  {trained.message} / {retrained.message}", flush=True)
        finally:
            azurite.stop_azurite(process)
    print()
    print(f"{subject.kind}s:")
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
