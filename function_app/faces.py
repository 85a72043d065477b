"""Typed results of face analysis, with the Azure Face API's field names at the edges."""

from __future__ import annotations

from dataclasses import dataclass, field
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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaceRectangle:
        return cls(int(data["top"]), int(data["left"]), int(data["width"]), int(data["height"]))

    @classmethod
    def parse(cls, text: str) -> FaceRectangle:
        """Azure's `targetFace` form: "left,top,width,height"."""
        left, top, width, height = (int(v) for v in text.split(","))
        return cls(top=top, left=left, width=width, height=height)


@dataclass(frozen=True)
class Point:
    x: float
    y: float

    def to_dict(self) -> dict[str, float]:
        return {"x": round(self.x, 1), "y": round(self.y, 1)}


@dataclass(frozen=True)
class FaceLandmarks:
    """The five landmarks; left and right as seen in the image, as Azure names them."""

    pupil_left: Point
    pupil_right: Point
    nose_tip: Point
    mouth_left: Point
    mouth_right: Point

    def to_dict(self) -> dict[str, dict[str, float]]:
        return {
            "pupilLeft": self.pupil_left.to_dict(),
            "pupilRight": self.pupil_right.to_dict(),
            "noseTip": self.nose_tip.to_dict(),
            "mouthLeft": self.mouth_left.to_dict(),
            "mouthRight": self.mouth_right.to_dict(),
        }


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "faceRectangle": self.rectangle.to_dict(),
            "faceLandmarks": self.landmarks.to_dict(),
            "faceAttributes": {"headPose": self.head_pose.to_dict(), **self.quality.to_attributes()},
        }
