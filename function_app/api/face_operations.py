"""Detect, identify and verify, as the Face API answers them (every version, see versions.py)."""

from __future__ import annotations

import azure.functions as func

from ..errors import BadArgument
from ..faceapi.base import DETECTION_MODELS, RECOGNITION_MODELS
from ..faceapi.group_kinds import group_of_body
from ..models import RECOGNITION_MODEL, DetectOptions
from ..runtime import Runtime
from .http import endpoint, image_body, json_body, json_response, param
from .params import check_model, parse_bool, parse_float, parse_int
from .versions import FACE, api_version

bp = func.Blueprint()
# Attributes the engine measures; the others are refused, never invented. Azure itself retired the
# first group in 2023; the second it still computes, this service's engines cannot.
SUPPORTED_ATTRIBUTES = ("headPose", "blur", "exposure", "qualityForRecognition")
RETIRED_ATTRIBUTES = ("age", "gender", "emotion", "smile", "facialHair", "hair", "makeup")
UNMEASURED_ATTRIBUTES = ("glasses", "occlusion", "accessories", "noise", "mask")


@endpoint(bp, "detect", f"{FACE}/detect", "POST")
def detect(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    api_version(req)
    options = detect_options(req)
    faces = runtime.face_api.detect(image_body(req), options)
    if options.return_face_id and parse_bool(
        param(req, "returnRecognitionModel"), "returnRecognitionModel", default=False
    ):  # as Azure: the model the faceIds are for, when asked
        model = (options.recognition_model or RECOGNITION_MODEL).strip().lower()
        faces = [{**face, "recognitionModel": model} for face in faces]
    return json_response(faces)


def _check_attributes(wanted: tuple[str, ...]) -> None:
    unsupported = [a for a in wanted if a not in SUPPORTED_ATTRIBUTES]
    if not unsupported:
        return
    retired = [a for a in unsupported if a in RETIRED_ATTRIBUTES]
    unmeasured = [a for a in unsupported if a in UNMEASURED_ATTRIBUTES]
    unknown = [a for a in unsupported if a not in retired and a not in unmeasured]
    reasons = [
        *([f"{', '.join(retired)}: retired by the Azure Face API, which no longer answers them"] if retired else []),
        *([f"{', '.join(unmeasured)}: this service's face engine has no model for them"] if unmeasured else []),
        *([f"{', '.join(unknown)}: not face attributes"] if unknown else []),
    ]
    raise BadArgument(
        f"'returnFaceAttributes' is invalid ({'; '.join(reasons)}). Supported: {', '.join(SUPPORTED_ATTRIBUTES)}."
    )


def detect_options(req: func.HttpRequest) -> DetectOptions:
    """The query parameters of /detect, with Azure's defaults and errors."""
    detection_model = param(req, "detectionModel")
    recognition_model = param(req, "recognitionModel")
    check_model(detection_model, DETECTION_MODELS, "detectionModel")
    check_model(recognition_model, RECOGNITION_MODELS, "recognitionModel")
    wanted = tuple(a.strip() for a in (param(req, "returnFaceAttributes") or "").split(",") if a.strip())
    _check_attributes(wanted)
    landmarks = parse_bool(param(req, "returnFaceLandmarks"), "returnFaceLandmarks", default=False)
    if (detection_model or "").strip().lower() == "detection_02" and (landmarks or wanted):
        # As Azure: detection_02 finds faces only.
        raise BadArgument("'detection_02' returns no face landmarks nor attributes: use detection_01 or detection_03.")
    return DetectOptions(
        return_face_id=parse_bool(param(req, "returnFaceId"), "returnFaceId", default=True),
        return_landmarks=landmarks,
        attributes=wanted,
        face_id_ttl=parse_int(param(req, "faceIdTimeToLive"), "faceIdTimeToLive", default=DetectOptions.face_id_ttl),
        detection_model=detection_model or None,
        recognition_model=recognition_model or None,
    )


@endpoint(bp, "identify", f"{FACE}/identify", "POST")
def identify(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    api_version(req)
    body = json_body(req)
    named = group_of_body(body)
    if named is None:
        dynamic = "dynamicPersonGroupId is not supported by this server; " if body.get("dynamicPersonGroupId") else ""
        raise BadArgument(f"{dynamic}'personGroupId' or 'largePersonGroupId' is required.")
    kind, group_id = named
    answer = runtime.face_api.identify(
        group_id,
        body.get("faceIds", []),
        max_candidates=parse_int(body.get("maxNumOfCandidatesReturned"), "maxNumOfCandidatesReturned", default=10),
        confidence_threshold=parse_float(body.get("confidenceThreshold"), "confidenceThreshold"),
        kind=kind,
    )
    return json_response(answer)


@endpoint(bp, "verify", f"{FACE}/verify", "POST")
def verify(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    api_version(req)
    body = json_body(req)
    if body.get("faceId1") and body.get("faceId2"):
        return json_response(runtime.face_api.verify_faces(body["faceId1"], body["faceId2"]))
    named = group_of_body(body)
    if body.get("faceId") and body.get("personId") and named is not None:
        kind, group_id = named
        return json_response(runtime.face_api.verify_person(body["faceId"], group_id, body["personId"], kind=kind))
    raise BadArgument(
        "Request body is invalid: give faceId1 and faceId2, or faceId, personId and personGroupId "
        "(or largePersonGroupId)."
    )
