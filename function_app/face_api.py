"""The Face API operations on images and face ids: detect, identify and verify.

Detect remembers each face's embedding under a face id (face_ids.py); identify and verify take
those ids, as the Azure Face API v1.0 does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import BadArgument
from .face_ids import DEFAULT_TTL, FaceIdStore
from .gallery import Gallery
from .identify import distance_to_confidence, identify_embeddings
from .imaging import decode_image
from .params import check_model, parse_bool, parse_int
from .training import load_trained_index

# Attributes the engine measures. Azure retired age, gender, emotion and the like; they are refused
# as Azure refuses them, never invented.
SUPPORTED_ATTRIBUTES = ("headPose", "blur", "exposure", "qualityForRecognition")
DETECTION_MODELS = ("detection_01", "detection_02", "detection_03")
RECOGNITION_MODELS = ("recognition_01", "recognition_02", "recognition_03", "recognition_04")
MAX_IDENTIFY_FACES = 10


@dataclass(frozen=True)
class DetectOptions:
    return_face_id: bool = True
    return_landmarks: bool = False
    attributes: tuple[str, ...] = ()
    face_id_ttl: int = DEFAULT_TTL
    # As asked; None: the engine's own (the local engine has one model of each).
    detection_model: str | None = None
    recognition_model: str | None = None

    @classmethod
    def parse(
        cls,
        *,
        return_face_id: str | None = None,
        return_landmarks: str | None = None,
        attributes: str | None = None,
        face_id_ttl: str | None = None,
        detection_model: str | None = None,
        recognition_model: str | None = None,
    ) -> DetectOptions:
        """From the query parameters of /detect, with Azure's defaults and errors."""
        check_model(detection_model, DETECTION_MODELS, "detectionModel")
        check_model(recognition_model, RECOGNITION_MODELS, "recognitionModel")
        wanted = tuple(a.strip() for a in (attributes or "").split(",") if a.strip())
        unsupported = [a for a in wanted if a not in SUPPORTED_ATTRIBUTES]
        if unsupported:
            raise BadArgument(
                f"'returnFaceAttributes' is invalid: {', '.join(unsupported)} not supported "
                f"(Azure retired age, gender and emotion); supported: {', '.join(SUPPORTED_ATTRIBUTES)}."
            )
        return cls(
            return_face_id=parse_bool(return_face_id, "returnFaceId", default=True),
            return_landmarks=parse_bool(return_landmarks, "returnFaceLandmarks", default=False),
            attributes=wanted,
            face_id_ttl=parse_int(face_id_ttl, "faceIdTimeToLive", default=DEFAULT_TTL),
            detection_model=detection_model or None,
            recognition_model=recognition_model or None,
        )


class FaceApi:
    def __init__(self, gallery: Gallery):
        self.gallery = gallery
        self.face_ids = FaceIdStore(gallery.storage)

    def detect(self, image: bytes, options: DetectOptions) -> list[dict[str, Any]]:
        settings = self.gallery.settings
        rgb = decode_image(image, max_bytes=settings.max_image_bytes, max_side=settings.max_image_side)
        faces = self.gallery.engine.detect(rgb, embeddings=options.return_face_id)
        ids = (
            self.face_ids.remember([f.embedding for f in faces], options.face_id_ttl) if options.return_face_id else []
        )
        answers = []
        for i, face in enumerate(faces):
            answer: dict[str, Any] = {"faceId": ids[i]} if ids else {}
            full = face.to_dict()
            answer["faceRectangle"] = full["faceRectangle"]
            if options.return_landmarks:
                answer["faceLandmarks"] = full["faceLandmarks"]
            if options.attributes:
                answer["faceAttributes"] = {a: full["faceAttributes"][a] for a in options.attributes}
            answers.append(answer)
        return answers

    def identify(
        self,
        group_id: str,
        face_ids: list[str],
        *,
        max_candidates: int = 10,
        confidence_threshold: float | None = None,
    ) -> list[dict[str, Any]]:
        if not isinstance(face_ids, list) or not face_ids or not all(isinstance(f, str) for f in face_ids):
            raise BadArgument("'faceIds' must be a non-empty list of face ids from detect.")
        if len(face_ids) > MAX_IDENTIFY_FACES:
            raise BadArgument(f"'faceIds' holds {len(face_ids)} ids; at most {MAX_IDENTIFY_FACES} are allowed.")
        index = load_trained_index(self.gallery, group_id)
        queries = np.stack([self.face_ids.recall(f) for f in face_ids])
        candidates = identify_embeddings(
            index,
            queries,
            match_threshold=self.gallery.settings.match_threshold,
            max_candidates=max_candidates,
            confidence_threshold=confidence_threshold,
        )
        return [
            {"faceId": face_id, "candidates": [c.to_dict() for c in found]}
            for face_id, found in zip(face_ids, candidates, strict=True)
        ]

    def verify_faces(self, face_id1: str, face_id2: str) -> dict[str, Any]:
        """Are two detected faces the same person?"""
        a, b = self.face_ids.recall(face_id1), self.face_ids.recall(face_id2)
        return self._verdict(float(np.linalg.norm(a - b)))

    def verify_person(self, face_id: str, group_id: str, person_id: str) -> dict[str, Any]:
        """Does a detected face belong to a person? Compared with the person's faces themselves,
        so that no training is needed (as in Azure)."""
        vector = self.face_ids.recall(face_id)
        person = self.gallery.get_person(group_id, person_id)
        faces = [f.embedding for f in self.gallery.iter_faces(group_id, person.person_id)]
        if not faces:
            raise BadArgument(f"Person {person.person_id} has no faces to verify against.")
        return self._verdict(float(np.min(np.linalg.norm(np.stack(faces) - vector, axis=1))))

    def _verdict(self, distance: float) -> dict[str, Any]:
        threshold = self.gallery.settings.match_threshold
        confidence = float(distance_to_confidence(np.float32(distance), threshold))
        return {"isIdentical": distance <= threshold, "confidence": round(confidence, 5)}
