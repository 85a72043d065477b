"""One call per video frame: detect, identify against a group, and (FRAME_RECORDS=on) write the frame's
sighting line. The prototype needed a detect call and an identify call per frame."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..clock import iso, utc_now
from ..errors import BadArgument
from ..faceapi import FaceApi
from ..imaging import decode_upload
from ..models import RecognizedFace
from ..settings import Settings
from ..storage import Storage
from .sightings import MAX_LOCATION, SightedFace, SightingRecord, check_camera, write_sighting


@dataclass(frozen=True)
class FrameResult:
    time_stamp: str
    frame_width: int
    frame_height: int
    faces: list[RecognizedFace]
    record: str | None  # where the frame's sighting line is, when it had faces and FRAME_RECORDS=on

    def to_dict(self) -> dict[str, Any]:
        return {
            "timeStamp": self.time_stamp,
            "frameWidth": self.frame_width,
            "frameHeight": self.frame_height,
            "record": self.record,
            "faces": [face.to_dict() for face in self.faces],
        }


def recognize_frame(
    face_api: FaceApi,
    storage: Storage,
    settings: Settings,
    group_id: str,
    camera: str | None,
    image: bytes,
    *,
    location: str | None = None,
    confidence_threshold: float | None = None,
) -> FrameResult:
    camera = check_camera(camera)
    if location is not None and len(location) > MAX_LOCATION:
        raise BadArgument(f"'location' is too long: at most {MAX_LOCATION} characters.")
    frame = decode_upload(image, settings)
    moment = utc_now()
    found = face_api.recognize(group_id, frame, confidence_threshold=confidence_threshold)
    width, height = frame.width, frame.height
    record = None
    if found and settings.frame_records == "on":
        sighting = SightingRecord(
            camera=camera,
            person_group_id=group_id,
            moment=moment,
            frame_width=width,
            frame_height=height,
            faces=[
                SightedFace(f.rectangle.to_dict(), f.person_id, f.name, f.confidence, f.quality_for_recognition)
                for f in found
            ],
            location=location,
        )
        record = write_sighting(storage, sighting)
    return FrameResult(iso(moment), width, height, found, record)
