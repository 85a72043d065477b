"""Domain errors raised by the core; each carries the Azure Face API error code and HTTP status."""

from __future__ import annotations


class FaceServiceError(Exception):
    code = "BadArgument"
    status = 400
    retry_after: int | None = None  # seconds, sent as Retry-After (throttling)

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadArgument(FaceServiceError):
    pass


class InvalidImage(FaceServiceError):
    code = "InvalidImage"


class InvalidImageSize(FaceServiceError):
    code = "InvalidImageSize"


class NoFaceFound(InvalidImage):
    """No face, or none in the target rectangle."""


class MultipleFaces(InvalidImage):
    """Several faces where exactly one is needed and no target rectangle was given."""


class FaceTooSmall(InvalidImage):
    pass


class FaceTooBlurry(InvalidImage):
    pass


class NotFound(FaceServiceError):
    status = 404


class PersonGroupNotFound(NotFound):
    code = "PersonGroupNotFound"


class PersonNotFound(NotFound):
    code = "PersonNotFound"


class PersistedFaceNotFound(NotFound):
    code = "PersistedFaceNotFound"


class Conflict(FaceServiceError):
    status = 409


class PersonGroupExists(Conflict):
    code = "PersonGroupExists"


class PersonGroupTrainingNotFinished(Conflict):
    code = "PersonGroupTrainingNotFinished"


class PersonGroupNotTrained(FaceServiceError):
    code = "PersonGroupNotTrained"


class InvalidURL(FaceServiceError):
    code = "InvalidURL"


def _classes_by_code() -> dict[str, type[FaceServiceError]]:
    found: dict[str, type[FaceServiceError]] = {}
    pending: list[type[FaceServiceError]] = [FaceServiceError]
    while pending:
        cls = pending.pop()
        if "code" in vars(cls):
            found.setdefault(cls.code, cls)
        pending.extend(cls.__subclasses__())
    return found


def error_for(code: str, status: int, message: str) -> FaceServiceError | None:
    """The domain error another Face API service means by `code` and `status`, if it is one of ours,
    so that callers catch `PersonGroupNotFound` whichever engine answered."""
    cls = _classes_by_code().get(code)
    return cls(message) if cls is not None and cls.status == status else None
