"""`GET /api/metrics`: the service's metrics as Prometheus text. The key is required, as on every route but health,
and may also come as `Authorization: Bearer <key>`: Prometheus sends that header (its `authorization` setting), and
no other of its own."""

from __future__ import annotations

import azure.functions as func

from ..metrics import PROMETHEUS_CONTENT_TYPE, prometheus_text
from ..runtime import Runtime
from .http import endpoint

bp = func.Blueprint()


@endpoint(bp, "metrics", "api/metrics", "GET", bearer=True)
def get_metrics(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    mimetype, _, charset = PROMETHEUS_CONTENT_TYPE.rpartition("; charset=")
    return func.HttpResponse(prometheus_text(), status_code=200, mimetype=mimetype, charset=charset)
