"""The status of a long-running operation (v1.1 and later), which the maintained SDK's poller reads, and
the timer that forgets old operations."""

from __future__ import annotations

import azure.functions as func

from ..features.operations import Operations, purge_operations
from ..runtime import Runtime, current_runtime
from .http import endpoint, json_response
from .versions import FACE, api_version

bp = func.Blueprint()


@endpoint(bp, "get_operation_status", f"{FACE}/operations/{{operationId}}", "GET")
def get_operation_status(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    api_version(req)
    status = Operations(runtime.storage, runtime.face_api).status(req.route_params["operationId"])
    return json_response(status.to_dict())


@bp.function_name("purge_old_operations")
@bp.timer_trigger(arg_name="timer", schedule="0 47 * * * *", run_on_startup=False)
def purge_old_operations(timer: func.TimerRequest) -> None:
    purge_operations(current_runtime().storage)
