"""Recognize the faces of encoded photo bytes, as the command line and the frame endpoint do."""

from __future__ import annotations

from function_app.faceapi import FaceApi, recognize
from function_app.imaging import decode_upload
from function_app.models import RecognizedFace
from function_app.settings import Settings


def recognize_bytes(faces: FaceApi, group_id: str, data: bytes, **options) -> list[RecognizedFace]:
    return recognize(faces, group_id, decode_upload(data, Settings()), **options)
