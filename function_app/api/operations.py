"""The status of a long-running operation (v1.1 and later), which the maintained SDK's poller reads, the
answer of an added face that is one, and the timer that forgets old operations."""

from __future__ import annotations

import azure.functions as func

from ..features.operations import Operations, purge_operations
from ..runtime import Runtime, current_runtime
from .http import endpoint, json_response
from .versions import FACE, adds_faces_as_operation, api_version, operation_location

bp = func.Blueprint()


@endpoint(bp, "get_operation_status", f"{FACE}/operations/{{operationId}}", "GET")
def get_operation_status(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    api_version(req)
    status = Operations(runtime.storage, runtime.face_api).status(req.route_params["operationId"])
    return json_response(status.to_dict())


def added_face_response(
    req: func.HttpRequest, runtime: Runtime, version: str, persisted_face_id: str, *, as_operation: bool = True
) -> func.HttpResponse:
    """The answer to adding a face: its persistedFaceId, with 200; in the versions where adding a face
    is a long-running operation (and `as_operation` for this collection), with 202 and the
    Operation-Location of an operation already succeeded."""
    answer = {"persistedFaceId": persisted_face_id}
    if not (as_operation and adds_faces_as_operation(version)):
        return json_response(answer)
    response = json_response(answer, 202)
    operation_id = Operations(runtime.storage, runtime.face_api).done(f"Face {persisted_face_id} added.")
    response.headers["Operation-Location"] = operation_location(req, version, operation_id)
    return response


@bp.function_name("purge_old_operations")
@bp.timer_trigger(arg_name="timer", schedule="0 47 * * * *", run_on_startup=False)
def purge_old_operations(timer: func.TimerRequest) -> None:
    purge_operations(current_runtime().storage)
