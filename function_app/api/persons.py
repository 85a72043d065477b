"""Persons of a person group, and their persisted faces."""

from __future__ import annotations

import azure.functions as func

from ..errors import BadArgument
from ..faceapi.base import DETECTION_MODELS
from ..models import FaceRectangle
from ..runtime import Runtime
from .http import empty_response, endpoint, image_body, json_body, json_response, param, top_param
from .params import check_model

bp = func.Blueprint()
PERSONS = "face/v1.0/persongroups/{personGroupId}/persons"
PERSON = PERSONS + "/{personId}"
FACES = PERSON + "/persistedfaces"


@endpoint(bp, "create_person", PERSONS, "POST")
def create_person(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    body = json_body(req)
    person = runtime.face_api.create_person(
        req.route_params["personGroupId"], body.get("name", ""), body.get("userData")
    )
    return json_response({"personId": person.person_id})


@endpoint(bp, "list_persons", PERSONS, "GET")
def list_persons(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    persons = runtime.face_api.list_persons(req.route_params["personGroupId"], param(req, "start"), top_param(req))
    return json_response([p.to_dict() for p in persons])


@endpoint(bp, "get_person", PERSON, "GET")
def get_person(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    person = runtime.face_api.get_person(req.route_params["personGroupId"], req.route_params["personId"])
    return json_response(person.to_dict())


@endpoint(bp, "update_person", PERSON, "PATCH")
def update_person(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    body = json_body(req)
    runtime.face_api.update_person(
        req.route_params["personGroupId"], req.route_params["personId"], body.get("name"), body.get("userData")
    )
    return empty_response()


@endpoint(bp, "delete_person", PERSON, "DELETE")
def delete_person(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    runtime.face_api.delete_person(req.route_params["personGroupId"], req.route_params["personId"])
    return empty_response()


@endpoint(bp, "add_person_face", FACES, "POST")
def add_person_face(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    check_model(param(req, "detectionModel"), DETECTION_MODELS, "detectionModel")
    face = runtime.face_api.add_face(
        req.route_params["personGroupId"],
        req.route_params["personId"],
        image_body(req),
        target_face=parse_target_face(param(req, "targetFace")),
        user_data=param(req, "userData"),
    )
    return json_response({"persistedFaceId": face.persisted_face_id})


def parse_target_face(text: str | None) -> FaceRectangle | None:
    if not text:
        return None
    try:  # Azure's form: "left,top,width,height"
        left, top, width, height = (int(v) for v in text.split(","))
    except ValueError:
        raise BadArgument("Invalid argument targetFace: use left,top,width,height in pixels.") from None
    target = FaceRectangle(top=top, left=left, width=width, height=height)
    if target.width <= 0 or target.height <= 0 or target.left < 0 or target.top < 0:
        raise BadArgument("Argument targetFace out of range.")
    return target


@endpoint(bp, "get_person_face", FACES + "/{persistedFaceId}", "GET")
def get_person_face(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    route = req.route_params
    face = runtime.face_api.get_face(route["personGroupId"], route["personId"], route["persistedFaceId"])
    return json_response(face.to_dict())


@endpoint(bp, "delete_person_face", FACES + "/{persistedFaceId}", "DELETE")
def delete_person_face(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    route = req.route_params
    runtime.face_api.delete_face(route["personGroupId"], route["personId"], route["persistedFaceId"])
    return empty_response()
