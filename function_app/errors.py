"""Every domain error, raised by the core and answered by the API in the Face API's envelope: each carries
the Azure Face API error code and HTTP status. `error_for` maps another Face API's answer back to them."""

from __future__ import annotations

from typing import TypeVar

E = TypeVar("E", bound="FaceApiError")


class FaceApiError(Exception):
    code = "BadArgument"
    status = 400
    retry_after: int | None = None  # seconds, sent as Retry-After (throttling)

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadArgument(FaceApiError):
    pass


class InvalidImage(FaceApiError):
    code = "InvalidImage"


class InvalidImageSize(FaceApiError):
    code = "InvalidImageSize"


class NoFaceFound(InvalidImage):
    """No face, or none in the target rectangle."""


class MultipleFaces(InvalidImage):
    """Several faces where exactly one is needed and no target rectangle was given."""


class FaceTooSmall(InvalidImage):
    pass


class FaceTooBlurry(InvalidImage):
    pass


class NotFound(FaceApiError):
    status = 404


class PersonGroupNotFound(NotFound):
    code = "PersonGroupNotFound"


class PersonNotFound(NotFound):
    code = "PersonNotFound"


class PersistedFaceNotFound(NotFound):
    code = "PersistedFaceNotFound"


class Conflict(FaceApiError):
    status = 409


class PersonGroupExists(Conflict):
    code = "PersonGroupExists"


class PersonGroupTrainingNotFinished(Conflict):
    code = "PersonGroupTrainingNotFinished"


class PersonGroupNotTrained(FaceApiError):
    """400 where a trained group is needed (identify); 404 from a training status that was never
    started (`never_trained`), as Azure answers both."""

    code = "PersonGroupNotTrained"


# The large person group's errors: the same conditions under their own codes, subclasses so that a
# caller catching the person group's error catches both.
class LargePersonGroupNotFound(PersonGroupNotFound):
    code = "LargePersonGroupNotFound"


class LargePersonGroupExists(PersonGroupExists):
    code = "LargePersonGroupExists"


class LargePersonGroupTrainingNotFinished(PersonGroupTrainingNotFinished):
    code = "LargePersonGroupTrainingNotFinished"


class LargePersonGroupNotTrained(PersonGroupNotTrained):
    code = "LargePersonGroupNotTrained"


def with_status(error: E, status: int) -> E:
    """The error answered with another status, where Azure does so for the same code: the training status
    of a group never trained is 404 PersonGroupNotTrained, identify's unknown group 400 PersonGroupNotFound."""
    error.status = status
    return error


class InvalidURL(FaceApiError):
    code = "InvalidURL"


class FaceListNotFound(NotFound):
    code = "FaceListNotFound"


class LargeFaceListNotFound(NotFound):
    code = "LargeFaceListNotFound"


class FaceListExists(Conflict):
    code = "FaceListExists"


class LargeFaceListExists(Conflict):
    code = "LargeFaceListExists"


class LargeFaceListNotTrained(FaceApiError):
    """Find-similar on a large face list never trained."""

    code = "LargeFaceListNotTrained"


class LargeFaceListTrainingNotFound(NotFound):
    """The training status of a large face list never trained: Azure answers 404 with this code."""

    code = "LargeFaceListNotTrained"


class FaceNotFound(NotFound):
    """A faceId from detect that is unknown or has expired."""

    code = "FaceNotFound"


class OperationNotFound(NotFound):
    """A long-running operation's id (v1.1 and later) that this service never handed out."""

    code = "OperationNotFound"


class EnrollmentNotFound(NotFound):
    code = "EnrollmentNotFound"


class VisitNotFound(NotFound):
    """A visit id never recorded, deleted (merged into another visit), or a visit without a snapshot."""

    code = "VisitNotFound"


class VisitAlreadyNamed(Conflict):
    """Naming a visit that already has a person (named by the tracker or by a user)."""

    code = "VisitAlreadyNamed"


class VisitNotClosed(Conflict):
    """Naming a visit still open: its camera's tracker still writes its record, and would write over the name."""

    code = "VisitNotClosed"


class WebhookNotFound(NotFound):
    code = "WebhookNotFound"


class NoRecentFrame(NotFound):
    """A camera that posted no frame to this instance within LATEST_FRAME_SECONDS (or LATEST_FRAMES is off)."""

    code = "NoRecentFrame"


class PhotoNotKept(FaceApiError):
    """A persisted face's photo asked of a backend that keeps none (the Azure Face API keeps faces, not photos).
    501, not 404: the face may well exist; no photo of any face can be answered by this deployment."""

    code = "PhotoNotKept"
    status = 501


class Unauthorized(FaceApiError):
    code = "401"
    status = 401


class DamagedRecord(FaceApiError):
    """A stored record that cannot be read (not JSON, or not the shape it should have): the message names it
    and says how to repair it. The rest of the store keeps working."""

    code = "DamagedRecord"
    status = 500


class StorageUnavailable(FaceApiError):
    """The app's storage is down, unreachable or read-only: try again later."""

    code = "StorageUnavailable"
    status = 503
    retry_after = 10


class UpstreamError(FaceApiError):
    """An error the Azure Face API answered, passed on with its code and status."""

    def __init__(self, message: str, code: str, status: int, retry_after: int | None = None):
        super().__init__(message)
        self.code = code
        self.status = status
        self.retry_after = retry_after


class UpstreamUnavailable(FaceApiError):
    code = "ServiceUnavailable"
    status = 503


# The Face API's error codes that name one of these errors: an explicit table, so the answer never
# depends on which modules happen to be imported.
ERRORS_BY_CODE: dict[str, type[FaceApiError]] = {
    cls.code: cls
    for cls in (
        BadArgument,
        InvalidImage,
        InvalidImageSize,
        InvalidURL,
        PersonGroupNotFound,
        PersonNotFound,
        PersistedFaceNotFound,
        FaceNotFound,
        PersonGroupExists,
        PersonGroupTrainingNotFinished,
        PersonGroupNotTrained,
        FaceListNotFound,
        LargeFaceListNotFound,
        FaceListExists,
        LargeFaceListExists,
        LargeFaceListNotTrained,
        LargePersonGroupNotFound,
        LargePersonGroupExists,
        LargePersonGroupTrainingNotFinished,
        LargePersonGroupNotTrained,
    )
}


def error_for(code: str, status: int, message: str) -> FaceApiError | None:
    """The domain error another Face API service means by `code` and `status`, if it is one of ours,
    so that callers catch `PersonGroupNotFound` whichever backend answered."""
    cls = ERRORS_BY_CODE.get(code)
    if cls is None or (cls.status != status and status not in REUSED_STATUSES):
        return None
    return with_status(cls(message), status)


# Statuses Azure also answers some of these codes with (see with_status).
REUSED_STATUSES = (400, 404)
