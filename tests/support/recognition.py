"""Recognize the faces of encoded photo bytes, as the command line and the frame endpoint do."""

from __future__ import annotations

from function_app.faceapi import FaceApi
from function_app.imaging import decode_image
from function_app.models import Image, RecognizedFace
from function_app.settings import Settings


def recognize_bytes(faces: FaceApi, group_id: str, data: bytes, **options) -> list[RecognizedFace]:
    settings = Settings()
    rgb = decode_image(data, max_bytes=settings.max_image_bytes, max_side=settings.max_image_side)
    return faces.recognize(group_id, Image(rgb, data), **options)
