"""The cameras that posted a frame lately, and each one's latest frame with its answer, from this instance's
memory (features/latest_frames.py): for the web page's Camera tab."""

from __future__ import annotations

import azure.functions as func

from ..clock import iso
from ..features.latest_frames import LatestFrame
from ..features.sightings import check_camera
from ..runtime import Runtime
from .http import endpoint, json_response

bp = func.Blueprint()


@endpoint(bp, "list_cameras", "api/cameras", "GET")
def list_cameras(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    return json_response([frame.summary() for frame in runtime.frames.latest.recent()])


@endpoint(bp, "get_camera_latest", "api/cameras/{cameraId}/latest", "GET")
def get_camera_latest(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    return json_response(_latest(req, runtime).to_dict())


@endpoint(bp, "get_camera_latest_jpeg", "api/cameras/{cameraId}/latest.jpg", "GET")
def get_camera_latest_jpeg(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    latest = _latest(req, runtime)
    # X-Frame-Time: the time of the answer that goes with this picture (another frame may come between two reads).
    headers = {"Cache-Control": "no-store", "X-Frame-Time": iso(latest.time)}
    return func.HttpResponse(latest.jpeg(runtime.settings), mimetype="image/jpeg", headers=headers)


def _latest(req: func.HttpRequest, runtime: Runtime) -> LatestFrame:
    return runtime.frames.latest.latest(check_camera(req.route_params["cameraId"]))
