"""Domain errors raised by the core; each carries the Azure Face API error code and HTTP status."""

from __future__ import annotations


class FaceServiceError(Exception):
    code = "BadArgument"
    status = 400

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
