"""Enroll photos into a group (photos.py finds them and names their persons), then train."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BadArgument, FaceApiError, PersonGroupNotFound
from ..faceapi import FaceApi
from ..faceapi.base import all_persons
from ..models import TrainingStatus
from .photos import PHOTO_SUFFIXES, Photo, photos_by_person, photos_in_folder


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


ProgressCallback = Callable[[EnrollmentReport, Photo, str], None]


def enroll_photos(
    face_api: FaceApi,
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
        face_api.get_group(group_id)
    except PersonGroupNotFound:
        face_api.create_group(group_id, group_id)
    existing = {p.name: p.person_id for p in all_persons(face_api, group_id)}
    enrolled = {(f.person_id, f.user_data) for f in face_api.iter_faces(group_id)}
    report = EnrollmentReport(group_id, total=sum(len(p) for p in people.values()))
    for name, person_photos in people.items():
        person_id = existing.get(name) or face_api.create_person(group_id, name).person_id
        report.persons[name] = person_id
        for photo in person_photos:
            report.processed += 1
            outcome = _enroll_photo(face_api, group_id, person_id, photo, enrolled, report)
            if progress:
                progress(report, photo, outcome)
    if train:
        report.training = face_api.train(group_id)
    return report


def _enroll_photo(
    face_api: FaceApi,
    group_id: str,
    person_id: str,
    photo: Photo,
    enrolled: set[tuple[str, str | None]],
    report: EnrollmentReport,
) -> str:
    if (person_id, photo.file_name) in enrolled:
        report.skipped += 1
        return "already enrolled"
    try:
        face_api.add_face(group_id, person_id, photo.read(), user_data=photo.file_name)
    except FaceApiError as exc:
        if exc.status != 400:
            raise  # not the photo's fault (group gone, service down or throttled): stop, report it
        report.rejected.append(Rejection(photo.path, photo.person, exc.message))
        return f"rejected: {exc.message}"
    report.added += 1
    return "added"


def enroll_folder(
    face_api: FaceApi, group_id: str, folder: Path, *, progress: ProgressCallback | None = None, train: bool = True
) -> EnrollmentReport:
    photos = photos_in_folder(folder)
    if not photos:
        raise FileNotFoundError(f"No photos ({', '.join(sorted(PHOTO_SUFFIXES))}) in {folder}")
    return enroll_photos(face_api, group_id, photos, progress=progress, train=train)
