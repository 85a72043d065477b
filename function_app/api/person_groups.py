"""Person groups and large person groups: create, get, update, delete, list, train (queued) and training
status; the same handlers for both kinds, registered once per kind (`register_group_routes`)."""

from __future__ import annotations

import azure.functions as func

from ..faceapi.base import RECOGNITION_MODELS
from ..faceapi.group_kinds import PERSON_GROUP, GroupKind
from ..features.operations import Operations
from ..models import PersonGroup
from ..runtime import Runtime
from ..visits.forgetting import person_ids, unlink_persons
from .http import empty_response, endpoint, json_body, json_response, param, top_param
from .params import check_model, parse_bool
from .versions import FACE, api_version, operation_location, trains_as_operation

bp = func.Blueprint()


def group_dict(group: PersonGroup, kind: GroupKind, req: func.HttpRequest) -> dict:
    data = {kind.id_name: group.person_group_id, "name": group.name, "userData": group.user_data}
    if parse_bool(param(req, "returnRecognitionModel"), "returnRecognitionModel", default=False):
        data["recognitionModel"] = group.recognition_model
    return data


def route_group_id(req: func.HttpRequest, kind: GroupKind) -> str:
    """The group id in a route of the kind, once the route's API version is known."""
    api_version(req)
    return req.route_params[kind.id_name]


def register_group_routes(bp: func.Blueprint, kind: GroupKind) -> None:
    """The group routes of one kind, its functions named after it (create_person_group,
    create_large_person_group, ...)."""
    collection = f"{FACE}/{kind.route}"
    group = f"{collection}/{{{kind.id_name}}}"
    name = kind.snake

    def group_id(req: func.HttpRequest) -> str:
        return route_group_id(req, kind)

    @endpoint(bp, f"create_{name}", group, "PUT")
    def create_group(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
        gid, body = group_id(req), json_body(req)
        check_model(body.get("recognitionModel"), RECOGNITION_MODELS, "recognitionModel")
        runtime.face_api.create_group(
            gid, body.get("name", ""), body.get("userData"), body.get("recognitionModel"), kind=kind
        )
        return empty_response()

    @endpoint(bp, f"get_{name}", group, "GET")
    def get_group(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
        return json_response(group_dict(runtime.face_api.get_group(group_id(req), kind=kind), kind, req))

    @endpoint(bp, f"update_{name}", group, "PATCH")
    def update_group(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
        gid, body = group_id(req), json_body(req)
        runtime.face_api.update_group(gid, body.get("name"), body.get("userData"), kind=kind)
        return empty_response()

    @endpoint(bp, f"delete_{name}", group, "DELETE")
    def delete_group(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
        gid = group_id(req)
        persons = person_ids(runtime.face_api, gid, kind)  # GroupNotFound (404) here, before anything changes
        runtime.face_api.delete_group(gid, kind=kind)
        unlink_persons(runtime.visits, gid, persons)  # the README's privacy promise, as for a person deleted alone
        runtime.frames.forget_persons(gid, persons)
        return empty_response()

    @endpoint(bp, f"list_{name}s", collection, "GET")
    def list_groups(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
        api_version(req)
        groups = runtime.face_api.list_groups(param(req, "start"), top_param(req), kind=kind)
        return json_response([group_dict(g, kind, req) for g in groups])

    @endpoint(bp, f"train_{name}", f"{group}/train", "POST")
    def train_group(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
        version, gid = api_version(req), group_id(req)
        runtime.face_api.request_training(gid, kind=kind)
        response = empty_response(202)
        if trains_as_operation(version):
            operation_id = Operations(runtime.storage, runtime.face_api).training(gid, kind)
            response.headers["Operation-Location"] = operation_location(req, version, operation_id)
        return response

    @endpoint(bp, f"get_{name}_training_status", f"{group}/training", "GET")
    def get_training_status(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
        return json_response(runtime.face_api.training_status(group_id(req), kind=kind).to_dict())


register_group_routes(bp, PERSON_GROUP)
