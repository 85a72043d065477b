"""Enroll photos into a group, one person per sub-folder or by the prototype's `<person><n>.jpg`
file names, then train. The photos come from a folder, a zip file or a blob prefix."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from .errors import BadArgument, FaceServiceError, PersonGroupNotFound
from .storage import Storage
from .training import TrainingStatus

if TYPE_CHECKING:
    from .face_service import FaceService

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif"}
_TRAILING_NUMBER = re.compile(r"^(.*?)[\s_-]*\d*$")


@dataclass(frozen=True)
class Photo:
    path: str  # relative, '/'-separated: 'obama/1.jpg' or 'obama2.jpg'
    read: Callable[[], bytes] = field(compare=False, repr=False)

    @property
    def file_name(self) -> str:
        return PurePosixPath(self.path).name

    @property
    def person(self) -> str:
        """The folder holding the photo names the person; a photo at the top is named by its file
        name: 'obama2.jpg' -> 'obama', 'kit_harington-1.png' -> 'kit_harington'."""
        parts = PurePosixPath(self.path)
        if len(parts.parts) > 1:
            return parts.parts[-2]
        return _TRAILING_NUMBER.match(parts.stem).group(1) or parts.stem


@dataclass(frozen=True)
class Rejection:
    photo: str
    person: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"photo": self.photo, "person": self.person, "reason": self.reason}


@dataclass
class EnrollmentReport:
    group_id: str
    total: int = 0
    processed: int = 0
    added: int = 0
    skipped: int = 0  # already enrolled by an earlier run
    persons: dict[str, str] = field(default_factory=dict)  # name -> personId
    rejected: list[Rejection] = field(default_factory=list)
    training: TrainingStatus | None = None


def _is_photo(path: str) -> bool:
    name = PurePosixPath(path)
    hidden = any(part.startswith((".", "__MACOSX")) for part in name.parts)
    return not hidden and name.suffix.lower() in PHOTO_SUFFIXES


def photos_by_person(photos: Iterable[Photo]) -> dict[str, list[Photo]]:
    people: dict[str, list[Photo]] = {}
    for photo in sorted(photos, key=lambda p: p.path):
        people.setdefault(photo.person, []).append(photo)
    return people


def photos_in_folder(folder: Path) -> list[Photo]:
    """Photos directly in `folder` and in its sub-folders (one level: a sub-folder per person)."""
    if not folder.is_dir():
        raise FileNotFoundError(f"No folder {folder}")
    found = [p for p in [*folder.glob("*"), *folder.glob("*/*")] if p.is_file()]
    return [Photo(p.relative_to(folder).as_posix(), p.read_bytes) for p in found if _is_photo(p.name)]


def photos_in_zip(data: bytes) -> list[Photo]:
    """Photos in a zip file; a single top folder wrapping everything (as zipping a folder makes) is
    ignored, so that its sub-folders name the persons."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = [i for i in archive.infolist() if not i.is_dir() and _is_photo(i.filename)]
    except zipfile.BadZipFile:
        raise BadArgument("The upload is not a valid zip file.") from None
    paths = [PurePosixPath(i.filename) for i in entries]
    tops = {p.parts[0] for p in paths}
    strip = 1 if len(tops) == 1 and all(len(p.parts) > 2 for p in paths) else 0
    return [
        Photo(PurePosixPath(*p.parts[strip:]).as_posix(), lambda i=info: archive.read(i))
        for p, info in zip(paths, entries, strict=True)
    ]


def photos_in_blobs(storage: Storage, container: str, prefix: str) -> list[Photo]:
    prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
    return [
        Photo(info.name[len(prefix) :], lambda name=info.name: storage.get_blob(container, name).data)
        for info in storage.list_blobs(container, prefix)
        if _is_photo(info.name[len(prefix) :])
    ]


ProgressCallback = Callable[[EnrollmentReport, Photo, str], None]


def enroll_photos(
    faces: FaceService,
    group_id: str,
    photos: list[Photo],
    *,
    progress: ProgressCallback | None = None,
    train: bool = True,
) -> EnrollmentReport:
    """Create the group and persons as needed, add every photo, and train. A rerun reuses the
    persons of the same name and skips photos already enrolled (each face records its file name),
    so enrolling the same photos twice does no harm."""
    people = photos_by_person(photos)
    if not people:
        raise BadArgument(f"No photos ({', '.join(sorted(PHOTO_SUFFIXES))}) to enroll.")
    try:
        faces.get_group(group_id)
    except PersonGroupNotFound:
        faces.create_group(group_id, group_id)
    existing = {p.name: p.person_id for p in faces.list_persons(group_id)}
    enrolled = {(f.person_id, f.user_data) for f in faces.iter_faces(group_id)}
    report = EnrollmentReport(group_id, total=sum(len(p) for p in people.values()))
    for name, person_photos in people.items():
        person_id = existing.get(name) or faces.create_person(group_id, name).person_id
        report.persons[name] = person_id
        for photo in person_photos:
            report.processed += 1
            outcome = _enroll_photo(faces, group_id, person_id, photo, enrolled, report)
            if progress:
                progress(report, photo, outcome)
    if train:
        report.training = faces.train(group_id)
    return report


def _enroll_photo(
    faces: FaceService, group_id: str, person_id: str, photo: Photo, enrolled: set, report: EnrollmentReport
) -> str:
    if (person_id, photo.file_name) in enrolled:
        report.skipped += 1
        return "already enrolled"
    try:
        faces.add_face(group_id, person_id, photo.read(), user_data=photo.file_name)
    except FaceServiceError as exc:
        if exc.status != 400:
            raise  # not the photo's fault (group gone, service down or throttled): stop, report it
        report.rejected.append(Rejection(photo.path, photo.person, exc.message))
        return f"rejected: {exc.message}"
    report.added += 1
    return "added"


def enroll_folder(
    faces: FaceService, group_id: str, folder: Path, *, progress: ProgressCallback | None = None, train: bool = True
) -> EnrollmentReport:
    photos = photos_in_folder(folder)
    if not photos:
        raise FileNotFoundError(f"No photos ({', '.join(sorted(PHOTO_SUFFIXES))}) in {folder}")
    return enroll_photos(faces, group_id, photos, progress=progress, train=train)
