"""Person groups (or large person groups), persons and their persisted faces (photo and embedding),
kept in blob storage.

Group records live in the groups container (`{prefix}{groupId}.json`), so listing groups reads only
them. Everything else lies in the gallery container, one prefix per group so that deleting a
group is one sweep (storage/layout.py):
    {prefix}{groupId}/persons/{personId}.json
    {prefix}{groupId}/faces/{personId}/{persistedFaceId}.json   record with the embedding
    {prefix}{groupId}/faces/{personId}/{persistedFaceId}.photo  the uploaded bytes
    {prefix}{groupId}/journal/{bucket}.log                      every add, delete and name, for training
                                                                (embedding_journal.py)
    {prefix}{groupId}/training/...                              see training.py
`{prefix}` is the kind's (group_kinds.py): empty for person groups, `large.groups/` for large ones.
The face records answer the face operations (get, update, delete, the photo); training reads the journal only.
A group made before the journal (its record has no "embeddingLayout") is migrated by its first training:
migrate_to_journal appends its faces and names.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import numpy as np

from ...clock import iso, utc_now
from ...engines import FaceEngine
from ...errors import (
    BadArgument,
    DamagedRecord,
    FaceTooBlurry,
    FaceTooSmall,
    MultipleFaces,
    NoFaceFound,
    PersistedFaceNotFound,
    PersonNotFound,
)
from ...imaging import decode_upload
from ...models import DetectedFace, FaceRectangle, PersistedFace, Person, PersonGroup
from ...settings import Settings
from ...storage import BlobNotFound, PreconditionFailed, Storage
from ...storage.layout import GALLERY_CONTAINER as CONTAINER
from ...storage.layout import GROUPS_CONTAINER
from ...storage.records import as_dict, parse_record
from ..base import PAGE_SIZE, check_group_id
from ..group_kinds import PERSON_GROUP, GroupKind
from .detection import detect_faces
from .embedding_journal import EmbeddingJournal, Entry, EntryKind, add_entry, name_entry
from .records import MAX_FACE_USER_DATA, MAX_NAME, MAX_USER_DATA, check_text, check_uuid, dump_json

log = logging.getLogger(__name__)
T = TypeVar("T")
_REPAIR = "Delete it (or what holds it) and add it again; the rest of the group keeps working."
# A detected face belongs to the target rectangle when at least this share of it lies inside.
TARGET_OVERLAP = 0.5
# The group record's field saying its faces are in the journal (groups made before it have none).
LAYOUT_FIELD, JOURNAL_LAYOUT = "embeddingLayout", "journal"


@dataclass(frozen=True)
class EnrolledFace(PersistedFace):
    """A face enrolled on this machine: also its rectangle, quality and embedding."""

    rectangle: FaceRectangle
    quality_for_recognition: str
    embedding: np.ndarray = field(compare=False, repr=False)

    def to_record(self) -> dict[str, Any]:
        return {
            "persistedFaceId": self.persisted_face_id,
            "personId": self.person_id,
            "userData": self.user_data,
            "faceRectangle": self.rectangle.to_dict(),
            "qualityForRecognition": self.quality_for_recognition,
            "embedding": base64.b64encode(self.embedding.astype("<f4").tobytes()).decode(),
        }

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> EnrolledFace:
        return cls(
            persisted_face_id=data["persistedFaceId"],
            person_id=data["personId"],
            user_data=data.get("userData"),
            rectangle=FaceRectangle.from_dict(data["faceRectangle"]),
            quality_for_recognition=data["qualityForRecognition"],
            embedding=np.frombuffer(base64.b64decode(data["embedding"]), dtype="<f4").astype(np.float32),
        )


def _person_from_record(data: dict[str, Any]) -> Person:
    return Person(str(data["personId"]), str(data["name"]), data.get("userData"))


class Gallery:
    def __init__(self, storage: Storage, engine: FaceEngine, settings: Settings, kind: GroupKind = PERSON_GROUP):
        self.storage = storage
        self.engine = engine
        self.settings = settings
        self.kind = kind
        self.journal = EmbeddingJournal(storage)

    def root(self, group_id: str) -> str:
        """The prefix of everything the group holds in the gallery container."""
        return f"{self.kind.storage_prefix}{group_id}/"

    def _group_blob(self, group_id: str) -> str:
        return f"{self.kind.storage_prefix}{group_id}.json"

    def _not_found(self, group_id: str) -> Exception:
        return self.kind.not_found(f"{self.kind.label} {group_id!r} is not found.")

    # -- blobs ---------------------------------------------------------------------------------
    def _read(self, name: str, container: str = CONTAINER) -> dict[str, Any] | None:
        """The JSON record, None when there is none; DamagedRecord naming it when it is not JSON."""
        return self._read_as(name, as_dict, container)

    def _read_as(self, name: str, build: Callable[[dict[str, Any]], T], container: str = CONTAINER) -> T | None:
        try:
            data = self.storage.get_blob(container, name).data
        except BlobNotFound:
            return None
        return parse_record(data, f"{container}/{name}", build, repair=_REPAIR)

    def _delete_prefix(self, prefix: str) -> None:
        # Records before photos, so an interrupted delete never leaves a record without its photo.
        names = [b.name for b in self.storage.list_blobs(CONTAINER, prefix)]
        for name in sorted(names, key=lambda n: not n.endswith(".json")):
            self.storage.delete_blob(CONTAINER, name)

    # -- person groups -------------------------------------------------------------------------
    def create_group(
        self, group_id: str, name: str, user_data: str | None = None, recognition_model: str | None = None
    ) -> PersonGroup:
        """`recognition_model` (checked by the caller) is kept to be echoed as Azure does; the
        embeddings are the engine's whichever is named."""
        check_group_id(group_id, self.kind.id_name)
        check_text(name, "name", MAX_NAME, required=True)
        check_text(user_data, "userData", MAX_USER_DATA, required=False)
        group = PersonGroup(group_id, name, user_data or None, iso(utc_now()))
        if recognition_model:
            group = replace(group, recognition_model=recognition_model.strip().lower())
        record = {
            **group.to_dict(),
            "createdDateTime": group.created,
            "recognitionModel": group.recognition_model,
            LAYOUT_FIELD: JOURNAL_LAYOUT,
        }
        try:
            self.storage.put_blob(GROUPS_CONTAINER, self._group_blob(group_id), dump_json(record), only_if_new=True)
        except PreconditionFailed:
            raise self.kind.exists(f"{self.kind.label} {group_id!r} already exists.") from None
        return group

    def get_group(self, group_id: str) -> PersonGroup:
        check_group_id(group_id, self.kind.id_name)
        group = self._read_as(self._group_blob(group_id), PersonGroup.from_dict, GROUPS_CONTAINER)
        if group is None:
            raise self._not_found(group_id)
        return group

    def update_group(self, group_id: str, name: str | None = None, user_data: str | None = None) -> PersonGroup:
        self.update_record(
            GROUPS_CONTAINER, self._group_blob(group_id), name, user_data, lambda: self.get_group(group_id)
        )
        return self.get_group(group_id)

    def update_record(
        self, container: str, blob_name: str, name: str | None, user_data: str | None, check: Callable[[], object]
    ) -> None:
        """Set the name and userData of a group's or list's record (`check` raises if it is gone)."""
        check_text(name, "name", MAX_NAME, required=False)
        check_text(user_data, "userData", MAX_USER_DATA, required=False)
        changes: dict[str, Any] = {"name": name} if name else {}
        if user_data is not None:
            changes["userData"] = user_data or None
        self.change_record(container, blob_name, changes, check)

    def change_record(
        self, container: str, blob_name: str, changes: dict[str, Any], check: Callable[[], object]
    ) -> None:
        """Set fields of a group's or list's record (`check` raises if it is gone), with its ETag, so that a
        concurrent change is never lost."""
        while True:
            check()
            blob = self.storage.get_blob(container, blob_name)
            data = {**json.loads(blob.data), **changes}
            try:
                self.storage.put_blob(container, blob_name, dump_json(data), if_match=blob.etag)
                return
            except PreconditionFailed:
                continue  # changed or deleted meanwhile: read again

    def delete_group(self, group_id: str) -> None:
        self.get_group(group_id)
        # Contents first, the record last: an interrupted delete can be run again.
        self._delete_prefix(self.root(group_id))
        self.storage.delete_blob(GROUPS_CONTAINER, self._group_blob(group_id))

    def list_groups(self, start: str | None = None, top: int = PAGE_SIZE) -> list[PersonGroup]:
        groups = []
        prefix = self.kind.storage_prefix
        for blob in self.storage.list_blobs(GROUPS_CONTAINER, prefix):
            group_id = blob.name[len(prefix) :].removesuffix(".json")
            if "/" in group_id:
                continue  # another kind's record
            if start is None or group_id > start:
                try:
                    groups.append(self.get_group(group_id))
                except (DamagedRecord, BadArgument) as damaged:  # one bad record never hides the others
                    log.warning("%s %s left out of the list: %s", self.kind.label, group_id, damaged.message)
                    continue
                if len(groups) >= top:
                    break
        return groups

    # -- persons -------------------------------------------------------------------------------
    def create_person(self, group_id: str, name: str, user_data: str | None = None) -> Person:
        self.get_group(group_id)
        check_text(name, "name", MAX_NAME, required=True)
        check_text(user_data, "userData", MAX_USER_DATA, required=False)
        person = Person(str(uuid.uuid4()), name, user_data or None)
        record = {"personId": person.person_id, "name": name, "userData": person.user_data}
        self.storage.put_blob(CONTAINER, f"{self.root(group_id)}persons/{person.person_id}.json", dump_json(record))
        self.journal.append(self.root(group_id), name_entry(person.person_id, name))
        return person

    def _person_record(self, group_id: str, person_id: str) -> dict[str, Any]:
        self.get_group(group_id)
        person_id = check_uuid(person_id, PersonNotFound, "Person")
        data = self._read(f"{self.root(group_id)}persons/{person_id}.json")
        if data is None:
            raise PersonNotFound(f"Person {person_id} is not found in {self.kind.label.lower()} {group_id!r}.")
        return data

    def _face_ids(self, group_id: str, person_id: str) -> tuple[str, ...]:
        prefix = f"{self.root(group_id)}faces/{person_id}/"
        return tuple(
            b.name[len(prefix) : -len(".json")]
            for b in self.storage.list_blobs(CONTAINER, prefix)
            if b.name.endswith(".json")
        )

    def get_person(self, group_id: str, person_id: str) -> Person:
        data = self._person_record(group_id, person_id)
        return Person(data["personId"], data["name"], data.get("userData"), self._face_ids(group_id, data["personId"]))

    def update_person(
        self, group_id: str, person_id: str, name: str | None = None, user_data: str | None = None
    ) -> Person:
        check_text(name, "name", MAX_NAME, required=False)
        check_text(user_data, "userData", MAX_USER_DATA, required=False)
        data = self._person_record(group_id, person_id)
        if name:
            data["name"] = name
        if user_data is not None:
            data["userData"] = user_data or None
        self.storage.put_blob(CONTAINER, f"{self.root(group_id)}persons/{data['personId']}.json", dump_json(data))
        if name:
            self.journal.append(self.root(group_id), name_entry(data["personId"], name))
        return self.get_person(group_id, data["personId"])

    def delete_person(self, group_id: str, person_id: str) -> None:
        person_id = self._person_record(group_id, person_id)["personId"]
        # The journal first: a delete cut short leaves a person the API still shows but training leaves out,
        # never one training names and the API no longer knows.
        self.journal.append(self.root(group_id), Entry(EntryKind.DELETE_PERSON, person_id))
        self.storage.delete_blob(CONTAINER, f"{self.root(group_id)}persons/{person_id}.json")
        self._delete_prefix(f"{self.root(group_id)}faces/{person_id}/")

    def list_persons(self, group_id: str, start: str | None = None, top: int = PAGE_SIZE) -> list[Person]:
        """A page of persons in personId order, after `start`."""
        persons = []
        for person in self.iter_persons(group_id, start):
            persons.append(person)
            if len(persons) >= top:
                break
        return persons

    def iter_persons(self, group_id: str, start: str | None = None) -> Iterator[Person]:
        """Every person of the group in personId order (after `start`), with their face ids."""
        self.get_group(group_id)
        faces_prefix = f"{self.root(group_id)}faces/"
        face_ids: dict[str, list[str]] = {}
        for face in self.storage.list_blobs(CONTAINER, faces_prefix):
            if face.name.endswith(".json"):
                person_id, file = face.name[len(faces_prefix) :].split("/")
                face_ids.setdefault(person_id, []).append(file[: -len(".json")])
        persons_prefix = f"{self.root(group_id)}persons/"
        for blob in self.storage.list_blobs(CONTAINER, persons_prefix):
            if start is not None and blob.name[len(persons_prefix) :].removesuffix(".json") <= start:
                continue  # before the page: not read at all
            try:
                person = self._read_as(blob.name, _person_from_record)
            except DamagedRecord as damaged:  # one bad record never hides the others
                log.warning("%s Left out of the persons.", damaged.message)
                continue
            if person is not None:
                yield replace(person, persisted_face_ids=tuple(face_ids.get(person.person_id, ())))

    # -- persisted faces -----------------------------------------------------------------------
    def add_face(
        self,
        group_id: str,
        person_id: str,
        image: bytes,
        *,
        target_face: FaceRectangle | None = None,
        user_data: str | None = None,
    ) -> EnrolledFace:
        """Detect the one face in `image` (or the one in `target_face`), check it is usable for
        recognition, and store the photo with its embedding."""
        person_id = self._person_record(group_id, person_id)["personId"]
        return self.store_face(group_id, self.enroll(image, target_face, person_id, user_data), image)

    def store_face(self, group_id: str, face: EnrolledFace, image: bytes) -> EnrolledFace:
        """Keep an enrolled face of a person of the group: its photo, its record, its journal entry."""
        base = self._face_blob(group_id, face.person_id, face.persisted_face_id, "")
        self.storage.put_blob(CONTAINER, f"{base}.photo", image)
        self.storage.put_blob(CONTAINER, f"{base}.json", dump_json(face.to_record()))
        self.journal.append(self.root(group_id), add_entry(face.person_id, face.persisted_face_id, face.embedding))
        if self._read(f"{self.root(group_id)}persons/{face.person_id}.json") is None:
            # The person was deleted while the face was being added: leave nothing behind (its journal entry is
            # void: the person's delete entry outlives it).
            self._delete_prefix(f"{base}.")
            raise PersonNotFound(f"Person {face.person_id} was deleted while the face was being added.")
        return face

    def enroll(
        self, image: bytes, target_face: FaceRectangle | None, owner_id: str, user_data: str | None
    ) -> EnrolledFace:
        """The face to enroll from `image` for its owner (a person, or a face list), not stored yet."""
        check_text(user_data, "userData", MAX_FACE_USER_DATA, required=False)
        face = self._enrollable_face(detect_faces(self.engine, decode_upload(image, self.settings)), target_face)
        return EnrolledFace(
            persisted_face_id=str(uuid.uuid4()),
            person_id=owner_id,
            user_data=user_data or None,
            rectangle=face.rectangle,
            quality_for_recognition=face.quality.quality_for_recognition,
            embedding=face.required_embedding(),
        )

    def _enrollable_face(self, faces: list[DetectedFace], target: FaceRectangle | None) -> DetectedFace:
        if target is not None:
            inside = [f for f in faces if f.rectangle.intersection(target) >= TARGET_OVERLAP * f.rectangle.area()]
            if not inside:
                raise NoFaceFound("No face detected in the specified targetFace area.")
            faces = [max(inside, key=lambda f: f.rectangle.intersection(target))]
        if not faces:
            raise NoFaceFound("No face detected in the image.")
        if len(faces) > 1:
            raise MultipleFaces(
                f"There are {len(faces)} faces in the image; use a photo of one face, "
                "or give targetFace=left,top,width,height to choose one."
            )
        face = faces[0]
        side = min(face.rectangle.width, face.rectangle.height)
        if side < self.settings.min_face_size:
            raise FaceTooSmall(
                f"The face is {face.rectangle.width}×{face.rectangle.height} pixels; "
                f"faces need at least {self.settings.min_face_size} pixels a side."
            )
        if face.quality.blur_level == "high":
            raise FaceTooBlurry(f"The face is too blurry (blur {face.quality.blur_value:.2f}); use a sharper photo.")
        return face

    def get_face(self, group_id: str, person_id: str, face_id: str) -> EnrolledFace:
        person_id = self._person_record(group_id, person_id)["personId"]
        face_id = check_uuid(face_id, PersistedFaceNotFound, "Persisted face")
        data = self._read(self._face_blob(group_id, person_id, face_id))
        if data is None:
            raise PersistedFaceNotFound(f"Persisted face {face_id} is not found.")
        return EnrolledFace.from_record(data)

    def _face_blob(self, group_id: str, person_id: str, face_id: str, suffix: str = ".json") -> str:
        return f"{self.root(group_id)}faces/{person_id}/{face_id}{suffix}"

    def update_face(self, group_id: str, person_id: str, face_id: str, user_data: str | None) -> EnrolledFace:
        """A persisted face's userData: the one thing about it that can change."""
        check_text(user_data, "userData", MAX_FACE_USER_DATA, required=False)
        while True:
            face = self.get_face(group_id, person_id, face_id)
            name = self._face_blob(group_id, face.person_id, face.persisted_face_id)
            try:
                blob = self.storage.get_blob(CONTAINER, name)
                face = replace(EnrolledFace.from_record(json.loads(blob.data)), user_data=user_data or None)
                # Only over the version read: a face deleted meanwhile is not written back.
                self.storage.put_blob(CONTAINER, name, dump_json(face.to_record()), if_match=blob.etag)
                return face
            except (BlobNotFound, PreconditionFailed):
                continue  # deleted (get_face then says so) or changed meanwhile: read again

    def get_face_photo(self, group_id: str, person_id: str, face_id: str) -> bytes:
        face = self.get_face(group_id, person_id, face_id)
        try:
            return self.storage.get_blob(CONTAINER, self._face_blob(group_id, face.person_id, face_id, ".photo")).data
        except BlobNotFound:  # deleted between the two reads (a delete takes the record first, then the photo)
            raise PersistedFaceNotFound(f"Persisted face {face_id} is not found.") from None

    def delete_face(self, group_id: str, person_id: str, face_id: str) -> None:
        face = self.get_face(group_id, person_id, face_id)
        entry = Entry(EntryKind.DELETE_FACE, face.person_id, face.persisted_face_id)
        self.journal.append(self.root(group_id), entry)  # first, as delete_person does
        self._delete_prefix(self._face_blob(group_id, face.person_id, face.persisted_face_id, "."))

    def iter_faces(self, group_id: str, person_id: str | None = None) -> Iterator[EnrolledFace]:
        """Every persisted face of the group (or of one person), grouped by person."""
        prefix = f"{self.root(group_id)}faces/" + (f"{person_id}/" if person_id else "")
        for blob in self.storage.list_blobs(CONTAINER, prefix):
            if blob.name.endswith(".json"):
                try:
                    face = self._read_as(blob.name, EnrolledFace.from_record)
                except DamagedRecord as damaged:  # one bad face never stops a training
                    log.warning("%s Left out.", damaged.message)
                    continue
                if face is not None:
                    yield face

    # -- the journal of groups made before it -------------------------------------------------
    def uses_journal(self, group_id: str) -> bool:
        record = self._read(self._group_blob(group_id), GROUPS_CONTAINER)
        return record is not None and record.get(LAYOUT_FIELD) == JOURNAL_LAYOUT

    def migrate_to_journal(self, group_id: str, known: set[str], deadline: float) -> bool:
        """Append to the journal the faces and names of a group made before it, one face record read each, and
        mark the group's record once done. `known`: the ids (faces', and persons' named) the journal holds
        already, which are skipped, so that a migration cut short (False: `deadline`, time.monotonic(), passed)
        goes on where it stopped when run again."""
        if not self.journal.append_until(self.root(group_id), self._unjournaled(group_id, known), deadline):
            return False
        layout = {LAYOUT_FIELD: JOURNAL_LAYOUT}
        self.change_record(GROUPS_CONTAINER, self._group_blob(group_id), layout, lambda: self.get_group(group_id))
        return True

    def _unjournaled(self, group_id: str, known: set[str]) -> Iterator[Entry]:
        for person in self.iter_persons(group_id):
            if person.person_id not in known:
                yield name_entry(person.person_id, person.name)
            for face_id in person.persisted_face_ids:
                if face_id in known:
                    continue
                data = self._read(self._face_blob(group_id, person.person_id, face_id))
                if data is not None:
                    face = EnrolledFace.from_record(data)
                    yield add_entry(face.person_id, face.persisted_face_id, face.embedding)
