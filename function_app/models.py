"""Every data shape shared across the layers: what engines find in an image, what the Face API holds
(groups, persons, persisted faces, training status) and answers (candidates, recognized faces), with the
Azure Face API's field names at the edges (`to_dict` / `from_dict`)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np


@dataclass(frozen=True)
class FaceRectangle:
    top: int
    left: int
    width: int
    height: int

    @property
    def right(self) -> int:
        return self.left + self.width

    @property
    def bottom(self) -> int:
        return self.top + self.height

    def area(self) -> int:
        return self.width * self.height

    def intersection(self, other: FaceRectangle) -> int:
        w = min(self.right, other.right) - max(self.left, other.left)
        h = min(self.bottom, other.bottom) - max(self.top, other.top)
        return max(0, w) * max(0, h)

    def to_dict(self) -> dict[str, int]:
        return {"top": self.top, "left": self.left, "width": self.width, "height": self.height}

    def scaled(self, factor: float) -> FaceRectangle:
        return FaceRectangle(*(round(v * factor) for v in (self.top, self.left, self.width, self.height)))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaceRectangle:
        return cls(int(data["top"]), int(data["left"]), int(data["width"]), int(data["height"]))


@dataclass(frozen=True)
class Point:
    x: float
    y: float

    def scaled(self, factor: float) -> Point:
        return Point(self.x * factor, self.y * factor)

    def to_dict(self) -> dict[str, float]:
        return {"x": round(self.x, 1), "y": round(self.y, 1)}


@dataclass(frozen=True)
class FaceLandmarks:
    """Landmarks as Azure names them, left and right as seen in the image: the pupils always; the nose
    tip and mouth corners only from a landmark model that finds them (None: not answered)."""

    pupil_left: Point
    pupil_right: Point
    nose_tip: Point | None = None
    mouth_left: Point | None = None
    mouth_right: Point | None = None

    def scaled(self, factor: float) -> FaceLandmarks:
        def scaled(point: Point | None) -> Point | None:
            return None if point is None else point.scaled(factor)

        return FaceLandmarks(
            self.pupil_left.scaled(factor),
            self.pupil_right.scaled(factor),
            scaled(self.nose_tip),
            scaled(self.mouth_left),
            scaled(self.mouth_right),
        )

    def to_dict(self) -> dict[str, dict[str, float]]:
        points = {
            "pupilLeft": self.pupil_left,
            "pupilRight": self.pupil_right,
            "noseTip": self.nose_tip,
            "mouthLeft": self.mouth_left,
            "mouthRight": self.mouth_right,
        }
        return {name: point.to_dict() for name, point in points.items() if point is not None}


@dataclass(frozen=True)
class HeadPose:
    """Degrees. Roll: positive when the face tilts clockwise in the image."""

    pitch: float
    roll: float
    yaw: float

    def to_dict(self) -> dict[str, float]:
        return {"pitch": round(self.pitch, 1), "roll": round(self.roll, 1), "yaw": round(self.yaw, 1)}


@dataclass(frozen=True)
class FaceQuality:
    blur_value: float
    blur_level: str  # low | medium | high
    exposure_value: float
    exposure_level: str  # underExposure | goodExposure | overExposure
    quality_for_recognition: str  # low | medium | high

    def to_attributes(self) -> dict[str, Any]:
        return {
            "blur": {"blurLevel": self.blur_level, "value": round(self.blur_value, 2)},
            "exposure": {"exposureLevel": self.exposure_level, "value": round(self.exposure_value, 2)},
            "qualityForRecognition": self.quality_for_recognition,
        }


@dataclass(frozen=True)
class DetectedFace:
    rectangle: FaceRectangle
    landmarks: FaceLandmarks
    head_pose: HeadPose
    quality: FaceQuality
    detection_score: float
    # L2-normalised float32 embedding; None when embeddings were not asked for.
    embedding: np.ndarray | None = field(default=None, compare=False, repr=False)
    # The engine's own record of where the face lies in the image it saw, so that it can embed the face
    # later (engines/base.py: embed); opaque to everyone else.
    alignment: object = field(default=None, compare=False, repr=False)

    def scaled(self, factor: float) -> DetectedFace:
        """The face as it lies in a picture `factor` times bigger than the one it was found in."""
        if factor == 1:
            return self
        return replace(self, rectangle=self.rectangle.scaled(factor), landmarks=self.landmarks.scaled(factor))

    def required_embedding(self) -> np.ndarray:
        """The embedding, which an engine computes unless it was told not to."""
        if self.embedding is None:
            raise RuntimeError("The face engine answered a face without the embedding it was asked for.")
        return self.embedding

    def to_dict(self) -> dict[str, Any]:
        return {
            "faceRectangle": self.rectangle.to_dict(),
            "faceLandmarks": self.landmarks.to_dict(),
            "faceAttributes": {"headPose": self.head_pose.to_dict(), **self.quality.to_attributes()},
        }


@dataclass(frozen=True)
class Image:
    """A decoded picture and, when it came as bytes, those bytes: the local engine reads the pixels, the
    Azure Face API needs the bytes (encoded from the pixels only when there are none)."""

    rgb: np.ndarray = field(repr=False)  # H×W×3 uint8, contiguous
    encoded: bytes | None = field(default=None, repr=False)
    # Pixels of the original per pixel of `rgb`: above 1 when a big photo was decoded reduced (imaging.py).
    scale: float = 1.0

    @property
    def width(self) -> int:
        """The original picture's width (what the faces' rectangles refer to)."""
        return round(self.rgb.shape[1] * self.scale)

    @property
    def height(self) -> int:
        return round(self.rgb.shape[0] * self.scale)


# Embeddings are the local engine's whatever a client asks for; groups report the newest model name.
RECOGNITION_MODEL = "recognition_04"


@dataclass(frozen=True)
class PersonGroup:
    person_group_id: str
    name: str
    user_data: str | None = None
    created: str = ""
    recognition_model: str = RECOGNITION_MODEL

    def to_dict(self) -> dict[str, Any]:
        return {"personGroupId": self.person_group_id, "name": self.name, "userData": self.user_data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PersonGroup:
        return cls(
            data["personGroupId"],
            data["name"],
            data.get("userData"),
            data.get("createdDateTime", ""),
            data.get("recognitionModel") or RECOGNITION_MODEL,
        )


@dataclass(frozen=True)
class Person:
    person_id: str
    name: str
    user_data: str | None = None
    persisted_face_ids: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "personId": self.person_id,
            "name": self.name,
            "userData": self.user_data,
            "persistedFaceIds": list(self.persisted_face_ids),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Person:
        faces = tuple(data.get("persistedFaceIds") or ())
        return cls(data["personId"], data.get("name") or "", data.get("userData"), faces)


@dataclass(frozen=True)
class PersistedFace:
    """A face photo of a person, as the Face API shows it: its id, its person and its userData."""

    persisted_face_id: str
    person_id: str
    user_data: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"persistedFaceId": self.persisted_face_id, "userData": self.user_data}


@dataclass(frozen=True)
class TrainingStatus:
    status: str  # notStarted | running | succeeded | failed
    created: str | None = None
    last_action: str | None = None
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "createdDateTime": self.created,
            "lastActionDateTime": self.last_action,
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingStatus:
        return cls(data["status"], data.get("createdDateTime"), data.get("lastActionDateTime"), data.get("message"))


@dataclass(frozen=True)
class DetectOptions:
    """What detect is asked to return (the query parameters of /detect, already checked)."""

    return_face_id: bool = True
    return_landmarks: bool = False
    attributes: tuple[str, ...] = ()
    face_id_ttl: int = 86400  # seconds, Azure's default
    # As asked; None: the backend's own (the local engine has one model of each).
    detection_model: str | None = None
    recognition_model: str | None = None


@dataclass(frozen=True)
class Candidate:
    person_id: str
    name: str
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {"personId": self.person_id, "confidence": round(self.confidence, 5)}


UNKNOWN = "Unknown"


@dataclass(frozen=True)
class FrameFace:
    """A face found in a video frame before anyone is asked who it is: a tracked face already named needs
    no new identification (faceapi/base.py: find_faces, identify_faces)."""

    rectangle: FaceRectangle
    quality_for_recognition: str | None
    handle: object = field(compare=False, repr=False)  # the backend's own: the detected face, or its faceId


@dataclass(frozen=True)
class RecognizedFace:
    """A face of an image with the persons it may be, best first (none: Unknown)."""

    rectangle: FaceRectangle
    quality_for_recognition: str | None
    candidates: list[Candidate]
    # The local engine's L2-normalised embedding (None from the Azure Face API, which keeps its own).
    embedding: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def name(self) -> str:
        return self.candidates[0].name if self.candidates else UNKNOWN

    @property
    def person_id(self) -> str | None:
        return self.candidates[0].person_id if self.candidates else None

    @property
    def confidence(self) -> float:
        return self.candidates[0].confidence if self.candidates else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The best candidate only: the frame answer and the command line name one person per face."""
        return {
            "faceRectangle": self.rectangle.to_dict(),
            "personId": self.person_id,
            "name": self.name,
            "confidence": round(self.confidence, 5),
            "qualityForRecognition": self.quality_for_recognition,
        }
