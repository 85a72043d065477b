"""Persons of a person group or large person group, and their persisted faces; the same handlers for
both kinds, registered once per kind (`register_person_routes`)."""

from __future__ import annotations

import azure.functions as func

from ..errors import BadArgument
from ..faceapi.base import DETECTION_MODELS
from ..faceapi.group_kinds import PERSON_GROUP, GroupKind
from ..models import FaceRectangle
from ..runtime import Runtime
from ..visits.forgetting import unlink_persons
from .http import empty_response, endpoint, image_body, json_body, json_response, param, top_param
from .operations import added_face_response
from .params import check_model
from .person_groups import route_group_id
from .versions import FACE, api_version

bp = func.Blueprint()


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


def register_person_routes(bp: func.Blueprint, kind: GroupKind) -> None:
    """The person routes of one kind: person groups' functions keep their names (create_person, ...),
    the other kinds' are prefixed with the kind (create_large_person_group_person, ...)."""
    persons = f"{FACE}/{kind.route}/{{{kind.id_name}}}/persons"
    person = persons + "/{personId}"
    faces = person + "/persistedfaces"
    face = faces + "/{persistedFaceId}"
    prefix = kind.person_function_prefix

    def group_id(req: func.HttpRequest) -> str:
        return route_group_id(req, kind)

    @endpoint(bp, f"create_{prefix}person", persons, "POST")
    def create_person(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
        gid, body = group_id(req), json_body(req)
        created = runtime.face_api.create_person(gid, body.get("name", ""), body.get("userData"), kind=kind)
        return json_response({"personId": created.person_id})

    @endpoint(bp, f"list_{prefix}persons", persons, "GET")
    def list_persons(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
        found = runtime.face_api.list_persons(group_id(req), param(req, "start"), top_param(req), kind=kind)
        return json_response([p.to_dict() for p in found])

    @endpoint(bp, f"get_{prefix}person", person, "GET")
    def get_person(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
        found = runtime.face_api.get_person(group_id(req), req.route_params["personId"], kind=kind)
        return json_response(found.to_dict())

    @endpoint(bp, f"update_{prefix}person", person, "PATCH")
    def update_person(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
        gid, body = group_id(req), json_body(req)
        runtime.face_api.update_person(
            gid, req.route_params["personId"], body.get("name"), body.get("userData"), kind=kind
        )
        return empty_response()

    @endpoint(bp, f"delete_{prefix}person", person, "DELETE")
    def delete_person(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
        gid, person_id = group_id(req), req.route_params["personId"]
        runtime.face_api.delete_person(gid, person_id, kind=kind)
        unlink_persons(runtime.visits, gid, [person_id])  # the README's privacy promise: no visit names them after
        runtime.frames.forget_persons(gid, [person_id])  # nor an open one, when it is written again
        return empty_response()

    @endpoint(bp, f"add_{prefix}person_face", faces, "POST")
    def add_person_face(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
        version = api_version(req)
        check_model(param(req, "detectionModel"), DETECTION_MODELS, "detectionModel")
        added = runtime.face_api.add_face(
            group_id(req),
            req.route_params["personId"],
            image_body(req),
            target_face=parse_target_face(param(req, "targetFace")),
            user_data=param(req, "userData"),
            kind=kind,
        )
        return added_face_response(req, runtime, version, added.persisted_face_id)

    @endpoint(bp, f"get_{prefix}person_face", face, "GET")
    def get_person_face(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
        route = req.route_params
        found = runtime.face_api.get_face(group_id(req), route["personId"], route["persistedFaceId"], kind=kind)
        return json_response(found.to_dict())

    @endpoint(bp, f"update_{prefix}person_face", face, "PATCH")
    def update_person_face(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
        gid, route, body = group_id(req), req.route_params, json_body(req)
        runtime.face_api.update_face(gid, route["personId"], route["persistedFaceId"], body.get("userData"), kind=kind)
        return empty_response()

    @endpoint(bp, f"delete_{prefix}person_face", face, "DELETE")
    def delete_person_face(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
        route = req.route_params
        runtime.face_api.delete_face(group_id(req), route["personId"], route["persistedFaceId"], kind=kind)
        return empty_response()


register_person_routes(bp, PERSON_GROUP)
