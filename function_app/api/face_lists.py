"""Face lists and large face lists: the lists, their faces, and a large face list's training. The two
kinds share their handlers, registered under `face/{apiVersion}` as every Face API route (versions.py)."""

from __future__ import annotations

import azure.functions as func

from ..faceapi.base import DETECTION_MODELS, RECOGNITION_MODELS
from ..faceapi.face_lists import ListKind
from ..features.operations import Operations
from ..runtime import Runtime
from .http import Handler, empty_response, endpoint, image_body, json_body, json_response, param, top_param
from .operations import added_face_response
from .params import check_model, parse_bool
from .persons import parse_target_face
from .versions import FACE, api_version, operation_location, trains_as_operation

bp = func.Blueprint()
FACE_LIST, LARGE_FACE_LIST = ListKind.FACE_LIST, ListKind.LARGE_FACE_LIST


def _list_id(req: func.HttpRequest, kind: ListKind) -> str:
    """The list id in a route of the kind, once the route's API version is known."""
    api_version(req)
    return req.route_params[kind.id_name]


def _with_model(req: func.HttpRequest) -> bool:
    return parse_bool(param(req, "returnRecognitionModel"), "returnRecognitionModel", default=False)


def _handlers(kind: ListKind) -> list[tuple[str, str, str, Handler]]:
    """(function name, route, method, handler) of every operation of one kind."""
    lists = f"{FACE}/{kind.route}"
    one = f"{lists}/{{{kind.id_name}}}"
    faces = f"{one}/persistedfaces"
    face = f"{faces}/{{persistedFaceId}}"

    def create(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
        list_id, body = _list_id(req, kind), json_body(req)
        check_model(body.get("recognitionModel"), RECOGNITION_MODELS, "recognitionModel")
        runtime.face_api.create_face_list(
            kind, list_id, body.get("name", ""), body.get("userData"), body.get("recognitionModel")
        )
        return empty_response()

    def get(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
        found = runtime.face_api.get_face_list(kind, _list_id(req, kind))
        return json_response(found.to_dict(with_recognition_model=_with_model(req)))

    def update(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
        list_id, body = _list_id(req, kind), json_body(req)
        runtime.face_api.update_face_list(kind, list_id, body.get("name"), body.get("userData"))
        return empty_response()

    def delete(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
        runtime.face_api.delete_face_list(kind, _list_id(req, kind))
        return empty_response()

    def list_all(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
        api_version(req)
        with_model = _with_model(req)
        found = runtime.face_api.list_face_lists(kind, param(req, "start"), top_param(req))
        return json_response([f.to_dict(with_recognition_model=with_model) for f in found])

    def add_face(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
        version = api_version(req)
        check_model(param(req, "detectionModel"), DETECTION_MODELS, "detectionModel")
        added = runtime.face_api.add_list_face(
            kind,
            _list_id(req, kind),
            image_body(req),
            target_face=parse_target_face(param(req, "targetFace")),
            user_data=param(req, "userData"),
        )
        return added_face_response(req, runtime, version, added.persisted_face_id, as_operation=kind is LARGE_FACE_LIST)

    def delete_face(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
        runtime.face_api.delete_list_face(kind, _list_id(req, kind), req.route_params["persistedFaceId"])
        return empty_response()

    handlers: list[tuple[str, str, str, Handler]] = [
        (f"create_{kind.snake}", one, "PUT", create),
        (f"get_{kind.snake}", one, "GET", get),
        (f"update_{kind.snake}", one, "PATCH", update),
        (f"delete_{kind.snake}", one, "DELETE", delete),
        (f"list_{kind.snake}s", lists, "GET", list_all),
        (f"add_{kind.snake}_face", faces, "POST", add_face),
        (f"delete_{kind.snake}_face", face, "DELETE", delete_face),
    ]
    if kind is FACE_LIST:
        return handlers

    def list_faces(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
        found = runtime.face_api.list_list_faces(kind, _list_id(req, kind), param(req, "start"), top_param(req))
        return json_response([f.to_dict() for f in found])

    def get_face(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
        found = runtime.face_api.get_list_face(kind, _list_id(req, kind), req.route_params["persistedFaceId"])
        return json_response(found.to_dict())

    def update_face(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
        list_id, body = _list_id(req, kind), json_body(req)
        runtime.face_api.update_list_face(kind, list_id, req.route_params["persistedFaceId"], body.get("userData"))
        return empty_response()

    def train(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
        version, list_id = api_version(req), _list_id(req, kind)
        runtime.face_api.request_list_training(list_id)
        response = empty_response(202)
        if trains_as_operation(version):
            operation_id = Operations(runtime.storage, runtime.face_api).training(list_id, kind)
            response.headers["Operation-Location"] = operation_location(req, version, operation_id)
        return response

    def training_status(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
        return json_response(runtime.face_api.list_training_status(_list_id(req, kind)).to_dict())

    return [
        *handlers,
        ("list_large_face_list_faces", faces, "GET", list_faces),
        ("get_large_face_list_face", face, "GET", get_face),
        ("update_large_face_list_face", face, "PATCH", update_face),
        ("train_large_face_list", f"{one}/train", "POST", train),
        ("get_large_face_list_training_status", f"{one}/training", "GET", training_status),
    ]


for _kind in ListKind:
    for _function_name, _route, _method, _handler in _handlers(_kind):
        endpoint(bp, _function_name, _route, _method)(_handler)
