"""Person groups: create, get, update, delete, list, train (queued) and training status."""

from __future__ import annotations

import azure.functions as func

from ..faceapi.base import RECOGNITION_MODELS
from ..models import PersonGroup
from ..runtime import Runtime
from .http import empty_response, endpoint, json_body, json_response, param, top_param
from .params import check_model, parse_bool

bp = func.Blueprint()
GROUP = "face/v1.0/persongroups/{personGroupId}"


def _group_dict(group: PersonGroup, req: func.HttpRequest) -> dict:
    data = group.to_dict()
    if parse_bool(param(req, "returnRecognitionModel"), "returnRecognitionModel", default=False):
        data["recognitionModel"] = group.recognition_model
    return data


@endpoint(bp, "create_person_group", GROUP, "PUT")
def create_person_group(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    body = json_body(req)
    check_model(body.get("recognitionModel"), RECOGNITION_MODELS, "recognitionModel")
    runtime.face_api.create_group(
        req.route_params["personGroupId"], body.get("name", ""), body.get("userData"), body.get("recognitionModel")
    )
    return empty_response()


@endpoint(bp, "get_person_group", GROUP, "GET")
def get_person_group(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    return json_response(_group_dict(runtime.face_api.get_group(req.route_params["personGroupId"]), req))


@endpoint(bp, "update_person_group", GROUP, "PATCH")
def update_person_group(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    body = json_body(req)
    runtime.face_api.update_group(req.route_params["personGroupId"], body.get("name"), body.get("userData"))
    return empty_response()


@endpoint(bp, "delete_person_group", GROUP, "DELETE")
def delete_person_group(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    runtime.face_api.delete_group(req.route_params["personGroupId"])
    return empty_response()


@endpoint(bp, "list_person_groups", "face/v1.0/persongroups", "GET")
def list_person_groups(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    groups = runtime.face_api.list_groups(param(req, "start"), top_param(req))
    return json_response([_group_dict(g, req) for g in groups])


@endpoint(bp, "train_person_group", f"{GROUP}/train", "POST")
def train_person_group(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    runtime.face_api.request_training(req.route_params["personGroupId"])
    return empty_response(202)


@endpoint(bp, "get_person_group_training_status", f"{GROUP}/training", "GET")
def get_person_group_training_status(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    return json_response(runtime.face_api.training_status(req.route_params["personGroupId"]).to_dict())
