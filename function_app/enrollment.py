"""Enroll a folder of photos into a group: one sub-folder per person, or the prototype's
`<person><n>.jpg` file names, then train."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import FaceServiceError, PersonGroupNotFound
from .gallery import Gallery
from .training import TrainingStatus, train_group

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif"}
_TRAILING_NUMBER = re.compile(r"^(.*?)[\s_-]*\d*$")


@dataclass(frozen=True)
class Rejection:
    photo: str
    person: str
    reason: str


@dataclass
class EnrollmentReport:
    group_id: str
    added: int = 0
    skipped: int = 0  # already enrolled by an earlier run
    persons: dict[str, str] = field(default_factory=dict)  # name -> personId
    rejected: list[Rejection] = field(default_factory=list)
    training: TrainingStatus | None = None


def person_name_from_file(path: Path) -> str:
    """'obama2.jpg' -> 'obama', 'kit_harington-1.png' -> 'kit_harington' (the prototype's naming)."""
    return _TRAILING_NUMBER.match(path.stem).group(1) or path.stem


def photos_by_person(folder: Path) -> dict[str, list[Path]]:
    """Sub-folders name persons; photos lying directly in `folder` are named by their file name."""
    people: dict[str, list[Path]] = {}
    for entry in sorted(folder.iterdir()):
        if entry.is_dir():
            photos = sorted(p for p in entry.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)
            if photos:
                people.setdefault(entry.name, []).extend(photos)
        elif entry.suffix.lower() in PHOTO_SUFFIXES:
            people.setdefault(person_name_from_file(entry), []).append(entry)
    return people


ProgressCallback = Callable[[int, int, Path, str], None]


def enroll_folder(
    gallery: Gallery, group_id: str, folder: Path, *, progress: ProgressCallback | None = None, train: bool = True
) -> EnrollmentReport:
    """Create the group and persons as needed, add every photo, and train. A rerun reuses the
    persons of the same name and skips photos already enrolled (each face records its file name)."""
    people = photos_by_person(folder)
    if not people:
        raise FileNotFoundError(f"No photos ({', '.join(sorted(PHOTO_SUFFIXES))}) in {folder}")
    try:
        gallery.get_group(group_id)
    except PersonGroupNotFound:
        gallery.create_group(group_id, group_id)
    existing = {p.name: p.person_id for p in gallery.list_persons(group_id)}
    enrolled = {(f.person_id, f.user_data) for f in gallery.iter_faces(group_id)}
    report = EnrollmentReport(group_id)
    total = sum(len(photos) for photos in people.values())
    done = 0
    for name, photos in people.items():
        person_id = existing.get(name) or gallery.create_person(group_id, name).person_id
        report.persons[name] = person_id
        for photo in photos:
            done += 1
            if (person_id, photo.name) in enrolled:
                report.skipped += 1
                if progress:
                    progress(done, total, photo, "already enrolled")
                continue
            try:
                gallery.add_face(group_id, person_id, photo.read_bytes(), user_data=photo.name)
                report.added += 1
                outcome = "added"
            except FaceServiceError as exc:
                report.rejected.append(Rejection(str(photo), name, exc.message))
                outcome = f"rejected: {exc.message}"
            if progress:
                progress(done, total, photo, outcome)
    if train:
        report.training = train_group(gallery, group_id)
    return report
