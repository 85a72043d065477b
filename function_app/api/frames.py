"""The edge client's one call per frame (tracked into visits), and the timer that closes the visits of
cameras gone silent."""

from __future__ import annotations

import logging
import time

import azure.functions as func

from .. import metrics
from ..errors import FaceApiError
from ..runtime import Runtime, current_runtime
from .http import INTERNAL_ERROR, endpoint, image_body, json_response, param, required_param
from .params import parse_float

bp = func.Blueprint()
log = logging.getLogger(__name__)


@endpoint(bp, "recognize_frame", "api/frames", "POST")
def post_frame(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    started = time.perf_counter()
    try:
        result = runtime.frames.recognize_frame(
            required_param(req, "personGroupId"),
            param(req, "cameraId"),
            image_body(req),
            location=param(req, "location"),
            confidence_threshold=parse_float(param(req, "confidenceThreshold"), "confidenceThreshold"),
        )
    except FaceApiError as exc:
        metrics.frame_refused(exc.code)
        raise
    except Exception:
        metrics.frame_refused(INTERNAL_ERROR)  # answered 500 by api/http.py, logged there
        raise
    named = sum(1 for face in result.faces if face.person_id is not None)
    metrics.frame_answered(time.perf_counter() - started, named, len(result.faces) - named)
    return json_response(result.to_dict())


@bp.timer_trigger(arg_name="timer", schedule="*/20 * * * * *", run_on_startup=False)
def close_silent_visits(timer: func.TimerRequest) -> None:
    """Close the visits of cameras gone silent: a camera that stops sending frames closes none itself."""
    closed = current_runtime().frames.close_silent_cameras()
    if closed:
        log.info("Closed %d visits of silent cameras.", closed)
