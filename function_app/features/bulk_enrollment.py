"""Bulk enrollment as a background job: a zip upload or a blob prefix of photos is enrolled by a
queue-triggered function, with its progress in a status record that the caller polls.

Enrollments container: `{enrollmentId}.json` the status, `{enrollmentId}.zip` an uploaded zip.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ..clock import iso, utc_now
from ..errors import BadArgument, DamagedRecord, EnrollmentNotFound, FaceApiError, StorageUnavailable
from ..faceapi import FaceApi
from ..faceapi.base import check_group_id
from ..storage import BlobNotFound, Storage
from ..storage.layout import APP_CONTAINERS, ENROLL_QUEUE
from ..storage.layout import ENROLLMENTS_CONTAINER as CONTAINER
from ..storage.messages import parse_message, send_json
from ..storage.names import InvalidBlobName, check_prefix
from ..storage.records import parse_record
from .enrollment import EnrollmentReport, enroll_photos
from .photos import Photo, photos_in_blobs, photos_in_zip

CONTAINER_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
# The status is written after every this many photos (and at the end): progress without a write per photo.
PROGRESS_EVERY = 5

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EnrollmentJob:
    enrollment_id: str
    person_group_id: str
    source: str  # 'zip' or 'blobs:<container>/<prefix>'
    train: bool = True
    status: str = "notStarted"  # notStarted | running | succeeded | failed
    created: str = field(default_factory=lambda: iso(utc_now()))
    last_action: str | None = None
    total: int = 0
    processed: int = 0
    added: int = 0
    skipped: int = 0
    persons: dict[str, str] = field(default_factory=dict)
    rejected: list[dict[str, str]] = field(default_factory=list)
    training_status: str | None = None
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        names = {
            "enrollment_id": "enrollmentId",
            "person_group_id": "personGroupId",
            "created": "createdDateTime",
            "last_action": "lastActionDateTime",
            "training_status": "trainingStatus",
        }
        return {names.get(k, k): v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EnrollmentJob:
        names = {
            "enrollmentId": "enrollment_id",
            "personGroupId": "person_group_id",
            "createdDateTime": "created",
            "lastActionDateTime": "last_action",
            "trainingStatus": "training_status",
        }
        return cls(**{names.get(k, k): v for k, v in data.items()})

    def with_progress(self, report: EnrollmentReport, **changes: Any) -> EnrollmentJob:
        return replace(
            self,
            total=report.total,
            processed=report.processed,
            added=report.added,
            skipped=report.skipped,
            persons=dict(report.persons),
            rejected=[r.to_dict() for r in report.rejected],
            **changes,
        )


def _save(storage: Storage, job: EnrollmentJob) -> EnrollmentJob:
    job = replace(job, last_action=iso(utc_now()))
    storage.put_blob(CONTAINER, f"{job.enrollment_id}.json", json.dumps(job.to_dict()).encode())
    return job


def get_enrollment(storage: Storage, enrollment_id: str) -> EnrollmentJob:
    """The job's record; EnrollmentNotFound, or DamagedRecord when its record is not a job."""
    try:
        name = f"{uuid.UUID(str(enrollment_id))}.json"
        data = storage.get_blob(CONTAINER, name).data
    except (ValueError, BlobNotFound):
        raise EnrollmentNotFound(f"Enrollment {enrollment_id} is not found.") from None
    return parse_record(data, f"{CONTAINER}/{name}", EnrollmentJob.from_dict, repair="Start the enrollment again.")


def start_enrollment(
    storage: Storage,
    group_id: str,
    *,
    zip_data: bytes | None = None,
    container: str | None = None,
    prefix: str = "",
    train: bool = True,
) -> EnrollmentJob:
    """Check the photos are there, record the job and queue it. Exactly one source: a zip, or a
    container (and prefix) in the app's storage."""
    check_group_id(group_id)
    enrollment_id = str(uuid.uuid4())
    if zip_data is not None and container is None:
        if not photos_in_zip(zip_data):
            raise BadArgument("The zip holds no photos (.jpg, .jpeg, .png, .bmp, .webp, .gif).")
        storage.put_blob(CONTAINER, f"{enrollment_id}.zip", zip_data)
        source = "zip"
    elif container is not None and zip_data is None:
        _check_source_container(container)
        _check_prefix(prefix)
        if not photos_in_blobs(storage, container, prefix):
            raise BadArgument(f"No photos under {container}/{prefix}.")
        source = f"blobs:{container}/{prefix}"
    else:
        raise BadArgument("Give the photos either as a zip body or as a blob container and prefix.")
    job = _save(storage, EnrollmentJob(enrollment_id, group_id, source, train))
    send_json(storage, ENROLL_QUEUE, {"enrollmentId": enrollment_id})
    return job


def _check_source_container(container: str) -> None:
    if not CONTAINER_NAME.fullmatch(container) or "--" in container:
        raise BadArgument(f"'container' {container!r} is not a valid blob container name.")
    if container in APP_CONTAINERS:
        raise BadArgument(f"'container' {container!r} holds the app's own data; upload photos to another container.")


def _check_prefix(prefix: str) -> None:
    try:
        check_prefix(prefix.strip("/"))
    except InvalidBlobName as exc:
        raise BadArgument(f"'prefix' is invalid: {exc}") from None


def _photos(storage: Storage, job: EnrollmentJob) -> list[Photo]:
    if job.source == "zip":
        return photos_in_zip(storage.get_blob(CONTAINER, f"{job.enrollment_id}.zip").data)
    container, _, prefix = job.source.removeprefix("blobs:").partition("/")
    return photos_in_blobs(storage, container, prefix)


def handle_enrollment_message(face_api: FaceApi, storage: Storage, content: str | bytes) -> EnrollmentJob | None:
    """Run a queued enrollment. A finished job is not run again; an interrupted one resumes,
    skipping the photos it already added. Bad photos are reported in the job, not retried."""
    try:
        job = get_enrollment(storage, parse_message(content, "enrollmentId")["enrollmentId"])
    except EnrollmentNotFound as exc:
        log.warning("%s Message dropped.", exc.message)
        return None
    if job.status in ("succeeded", "failed"):
        return job
    job = _save(storage, replace(job, status="running"))

    def progress(report: EnrollmentReport, _photo: Photo, _outcome: str) -> None:
        nonlocal job
        if report.processed % PROGRESS_EVERY == 0:
            job = _save(storage, job.with_progress(report))

    try:
        report = enroll_photos(face_api, job.person_group_id, _photos(storage, job), progress=progress, train=job.train)
    except FaceApiError as exc:
        if exc.status == StorageUnavailable.status:
            raise  # the storage is down: the message is tried again later
        return _save(storage, replace(job, status="failed", message=exc.message))
    training = report.training.status if report.training else None
    done = job.with_progress(report, status="succeeded", training_status=training)
    done = _save(storage, replace(done, message=_summary(report)))
    if job.source == "zip":
        storage.delete_blob(CONTAINER, f"{job.enrollment_id}.zip")
    return done


GIVEN_UP = "The enrollment failed on every try (see the service log) and was given up; start it again."


def handle_poisoned_enrollment_message(storage: Storage, content: str | bytes) -> EnrollmentJob | None:
    """An enroll-requests message given up on (moved to the poison queue): mark its job failed, so that it
    never shows `running` for ever. The photos it added stay; starting it again skips them."""
    try:
        job = get_enrollment(storage, parse_message(content, "enrollmentId")["enrollmentId"])
    except (BadArgument, EnrollmentNotFound, DamagedRecord) as exc:
        log.warning("%s Poisoned message dropped.", exc.message)
        return None
    if job.status in ("succeeded", "failed"):
        return job
    return _save(storage, replace(job, status="failed", message=GIVEN_UP))


def _summary(report: EnrollmentReport) -> str:
    text = f"{report.added} photos added for {len(report.persons)} persons; {len(report.rejected)} rejected"
    if report.skipped:
        text += f", {report.skipped} already enrolled"
    if report.training:
        text += f"; training {report.training.status}"
    return text + "."
