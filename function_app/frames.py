"""One call per video frame: detect, identify against a group, and write the dated sighting
record. The prototype needed a detect call and an identify call per frame."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .clock import iso, utc_now
from .errors import BadArgument
from .imaging import decode_image
from .recognition import IdentifiedFace
from .sightings import MAX_LOCATION, SightedFace, SightingRecord, check_camera, write_sighting
from .storage import Storage

if TYPE_CHECKING:
    from .face_service import FaceService


@dataclass(frozen=True)
class FrameResult:
    time_stamp: str
    frame_width: int
    frame_height: int
    faces: list[IdentifiedFace]
    record: str | None  # the sighting blob, when the frame had faces

    def to_dict(self) -> dict[str, Any]:
        return {
            "timeStamp": self.time_stamp,
            "frameWidth": self.frame_width,
            "frameHeight": self.frame_height,
            "record": self.record,
            "faces": [face.to_dict() for face in self.faces],
        }


def identify_frame(
    faces_service: FaceService,
    storage: Storage,
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
    settings = faces_service.settings
    rgb = decode_image(image, max_bytes=settings.max_image_bytes, max_side=settings.max_image_side)
    moment = utc_now()
    faces = faces_service.identify_image(group_id, image, rgb=rgb, confidence_threshold=confidence_threshold)
    height, width = rgb.shape[:2]
    record = None
    if faces:
        sighting = SightingRecord(
            camera=camera,
            person_group_id=group_id,
            moment=moment,
            frame_width=width,
            frame_height=height,
            faces=[
                SightedFace(f.rectangle.to_dict(), f.person_id, f.name, f.confidence, f.quality_for_recognition)
                for f in faces
            ],
            location=location,
        )
        record = write_sighting(storage, sighting)
    return FrameResult(iso(moment), width, height, faces, record)
