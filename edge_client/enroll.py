"""Enrollment, the prototype's flow done well: create the group and one person per sub-folder (or
per `<person><n>.jpg` name, as the prototype named its photos), upload each photo with a progress
bar, report every photo refused and why, then train and wait for the training with a display.

A rerun does not duplicate anything: persons are found by name, and each uploaded face carries its
file name (userData), so photos already enrolled are skipped (the backend's own bulk enrollment
marks faces the same way)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from .backend import BackendUnavailable, FaceBackend, RequestRefused
from .progress import ProgressBar, StatusLine

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif"}
_TRAILING_NUMBER = re.compile(r"^(.*?)[\s_-]*\d*$")


@dataclass(frozen=True)
class Photo:
    path: Path
    relative: str  # 'obama/1.jpg' or 'obama2.jpg'

    @property
    def person(self) -> str:
        """The sub-folder names the person; a photo at the top is named by its file name without
        its trailing number: 'obama2.jpg' -> 'obama', 'kit_harington-1.png' -> 'kit_harington'."""
        parts = self.relative.split("/")
        if len(parts) > 1:
            return parts[-2]
        stem = Path(parts[0]).stem
        named = _TRAILING_NUMBER.match(stem)  # matches every stem: both parts are optional
        return (named.group(1) if named else "") or stem

    @property
    def user_data(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class Rejection:
    photo: str
    reason: str


@dataclass
class EnrollmentReport:
    group: str
    total: int = 0
    added: int = 0
    skipped: int = 0  # enrolled by an earlier run
    persons: dict[str, str] = field(default_factory=dict)  # name -> personId
    rejected: list[Rejection] = field(default_factory=list)
    training: str = ""  # the last training status seen
    training_message: str | None = None


class TrainingTimeout(Exception):
    pass


def is_hidden(relative: Path) -> bool:
    """A part of the path starts with '.' (.thumbs/, ._1.jpg, .DS_Store) or '__MACOSX' (a Mac zip's resource
    forks): the backend's rule for photos (function_app/enrollment.py, _is_photo), so both enroll the same."""
    return any(part.startswith((".", "__MACOSX")) for part in relative.parts)


def find_photos(folder: Path) -> list[Photo]:
    """Photos in `folder` and one level of sub-folders (a sub-folder per person), hidden ones left out."""
    if not folder.is_dir():
        raise FileNotFoundError(f"No folder {folder}")
    found = sorted(p for p in [*folder.glob("*"), *folder.glob("*/*")] if p.is_file())
    return [
        Photo(p, p.relative_to(folder).as_posix())
        for p in found
        if p.suffix.lower() in PHOTO_SUFFIXES and not is_hidden(p.relative_to(folder))
    ]


def photos_by_person(photos: list[Photo]) -> dict[str, list[Photo]]:
    people: dict[str, list[Photo]] = {}
    for photo in photos:
        people.setdefault(photo.person, []).append(photo)
    return people


def enroll(backend: FaceBackend, group: str, folder: Path, *, progress: ProgressBar | None = None) -> EnrollmentReport:
    """Create the group and persons as needed and upload the photos not enrolled yet. Refused photos
    are reported, not fatal; an unavailable backend or a refused group is (the exception)."""
    people = photos_by_person(find_photos(folder))
    if not people:
        raise FileNotFoundError(f"No photos ({', '.join(sorted(PHOTO_SUFFIXES))}) in {folder}")
    report = EnrollmentReport(group, total=sum(len(photos) for photos in people.values()))
    progress = progress or ProgressBar(report.total)
    backend.create_group(group)
    existing = {person["name"]: person for person in backend.list_persons(group)}
    done = 0
    for name, photos in people.items():
        person = existing.get(name)
        person_id = person["personId"] if person else backend.create_person(group, name)
        report.persons[name] = person_id
        enrolled = {
            backend.face_user_data(group, person_id, face_id) for face_id in (person or {}).get("persistedFaceIds", [])
        }
        for photo in photos:
            done += 1
            progress.update(done, f"{photo.relative}: {_upload(backend, group, person_id, photo, enrolled, report)}")
    progress.finish()
    return report


def _upload(
    backend: FaceBackend, group: str, person_id: str, photo: Photo, enrolled: set, report: EnrollmentReport
) -> str:
    if photo.user_data in enrolled:
        report.skipped += 1
        return "already enrolled"
    try:
        backend.add_face(group, person_id, photo.path.read_bytes(), photo.user_data)
    except RequestRefused as exc:
        if exc.status != 400:
            raise
        report.rejected.append(Rejection(photo.relative, exc.message))
        return f"rejected: {exc.message}"
    report.added += 1
    return "added"


def train(
    backend: FaceBackend,
    group: str,
    report: EnrollmentReport,
    *,
    timeout: float = 300.0,
    every: float = 0.5,
    status_line: StatusLine | None = None,
) -> EnrollmentReport:
    """Start training and poll its status until it succeeds or fails, showing it as it goes."""
    status_line = status_line or StatusLine()
    backend.train(group)
    started = time.monotonic()
    while True:
        try:
            status = backend.training_status(group)
        except BackendUnavailable:
            status = None  # a blip while polling: try again
        elapsed = time.monotonic() - started
        if status is not None:
            report.training, report.training_message = status.status, status.message
            status_line.show(f"training {group}: {status.status} ({elapsed:.1f} s)", status.status)
            if status.status in ("succeeded", "failed"):
                status_line.finish()
                return report
        if elapsed > timeout:
            status_line.finish()
            raise TrainingTimeout(f"Training {group} did not finish within {timeout:.0f} s (last: {report.training}).")
        time.sleep(every)


def format_report(report: EnrollmentReport) -> str:
    lines = [
        f"group {report.group}: {len(report.persons)} persons, {report.total} photos: "
        f"{report.added} added, {report.skipped} already enrolled, {len(report.rejected)} rejected"
    ]
    lines += [f"  rejected {r.photo}: {r.reason}" for r in report.rejected]
    return "\n".join(lines)
