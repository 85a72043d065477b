"""Typed answers of the frame endpoint, and the JSON lines the client records of them.

Rectangles are in the pixels of the frame as captured: when a frame is shrunk before it is sent,
the answer's rectangles are scaled back."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

UNKNOWN = "Unknown"


@dataclass(frozen=True)
class FaceRectangle:
    top: int
    left: int
    width: int
    height: int

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaceRectangle:
        return cls(int(data["top"]), int(data["left"]), int(data["width"]), int(data["height"]))

    def to_dict(self) -> dict[str, int]:
        return {"top": self.top, "left": self.left, "width": self.width, "height": self.height}

    def scaled(self, factor: float) -> FaceRectangle:
        return FaceRectangle(*(round(v * factor) for v in (self.top, self.left, self.width, self.height)))


@dataclass(frozen=True)
class RecognizedFace:
    rectangle: FaceRectangle
    name: str  # "Unknown" when nobody enrolled matched
    person_id: str | None
    confidence: float
    quality: str | None = None  # qualityForRecognition: low, medium, high
    # The backend's track of this face across the camera's frames, and the visit it belongs to (None from a
    # backend without tracking, and for a visit during a track's first frames, before it may be named).
    track_id: str | None = None
    visit_id: str | None = None

    @property
    def known(self) -> bool:
        return self.person_id is not None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RecognizedFace:
        return cls(
            FaceRectangle.from_dict(data["faceRectangle"]),
            data.get("name") or UNKNOWN,
            data.get("personId"),
            float(data.get("confidence") or 0.0),
            data.get("qualityForRecognition"),
            data.get("trackId"),
            data.get("visitId"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "personId": self.person_id,
            "confidence": self.confidence,
            "faceRectangle": self.rectangle.to_dict(),
            "qualityForRecognition": self.quality,
            "trackId": self.track_id,
            "visitId": self.visit_id,
        }

    def scaled(self, factor: float) -> RecognizedFace:
        return replace(self, rectangle=self.rectangle.scaled(factor))


@dataclass(frozen=True)
class FrameResult:
    """`POST /api/frames`'s answer."""

    time_stamp: str
    frame_width: int
    frame_height: int
    faces: tuple[RecognizedFace, ...]
    record: str | None = None  # the per-frame record the backend wrote (only with its FRAME_RECORDS=on)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FrameResult:
        return cls(
            data.get("timeStamp", ""),
            int(data.get("frameWidth", 0)),
            int(data.get("frameHeight", 0)),
            tuple(RecognizedFace.from_dict(face) for face in data.get("faces", [])),
            data.get("record"),
        )

    def scaled(self, factor: float) -> FrameResult:
        """The same answer in the pixels of a frame `factor` times the size of the one sent."""
        if factor == 1.0:
            return self
        return FrameResult(
            self.time_stamp,
            round(self.frame_width * factor),
            round(self.frame_height * factor),
            tuple(face.scaled(factor) for face in self.faces),
            self.record,
        )


@dataclass(frozen=True)
class Answer:
    """One frame sent and answered: which frame, when it was captured, how long the answer took."""

    frame_index: int  # the frame's index in the source (a file's frame number, or frames read from a camera)
    captured_at: float  # wall-clock time of capture, seconds since the epoch
    captured: float  # time.monotonic() of capture
    latency_ms: float  # from capture to answer: encoding, upload, recognition, download
    result: FrameResult

    @property
    def captured_at_iso(self) -> str:
        return datetime.fromtimestamp(self.captured_at, UTC).isoformat(timespec="milliseconds")

    def to_dict(self) -> dict[str, Any]:
        return {
            "frame": self.frame_index,
            "capturedAt": self.captured_at_iso,
            "latencyMs": round(self.latency_ms, 1),
            "timeStamp": self.result.time_stamp,
            "frameWidth": self.result.frame_width,
            "frameHeight": self.result.frame_height,
            "faces": [face.to_dict() for face in self.result.faces],
        }


class ResultsWriter:
    """Each answer as one JSON line, flushed at once so that a killed client leaves whole lines."""

    def __init__(self, path: Path | None):
        self._out: TextIO | None = open(path, "w", encoding="utf-8") if path else None  # noqa: SIM115

    def write(self, answer: Answer) -> None:
        if self._out:
            self._out.write(json.dumps(answer.to_dict(), separators=(",", ":")) + "\n")
            self._out.flush()

    def close(self) -> None:
        if self._out:
            self._out.close()
            self._out = None
