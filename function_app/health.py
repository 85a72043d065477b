"""Whether the service can work: its storage (blobs and queues), its visit index and its face engine answer.
Each check is one cheap call (nothing is written, no model is loaded again, the Azure Face API is not called:
each of its calls is billed), the checks run side by side, and an answer names only what failed and its error
code, never a setting, a key, a path or a version."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from .clock import utc_now
from .errors import FaceApiError
from .runtime import Runtime, current_runtime
from .storage.layout import GROUPS_CONTAINER, TRAIN_QUEUE
from .visits.index import VisitFilter

log = logging.getLogger(__name__)
HEALTHY, UNHEALTHY = "healthy", "unhealthy"
EMPTY_PREFIX = "health-check/"  # no group record has a '/' in its name: listing it is one empty page
BLANK = np.zeros((64, 64, 3), dtype=np.uint8)


@dataclass(frozen=True)
class Check:
    ok: bool
    error: str | None = None  # the error code (StorageUnavailable, ...) or the exception's class

    def to_dict(self) -> dict[str, Any]:
        return {"status": "ok"} if self.ok else {"status": "failed", "error": self.error}


@dataclass(frozen=True)
class Health:
    checks: dict[str, Check]

    @property
    def healthy(self) -> bool:
        return all(check.ok for check in self.checks.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": HEALTHY if self.healthy else UNHEALTHY,
            "checks": {name: check.to_dict() for name, check in self.checks.items()},
        }


def _storage(runtime: Runtime) -> None:
    next(iter(runtime.storage.list_blobs(GROUPS_CONTAINER, EMPTY_PREFIX)), None)
    runtime.storage.approximate_queue_length(TRAIN_QUEUE)


def _visit_index(runtime: Runtime) -> None:
    runtime.visits.index.query(VisitFilter(day=utc_now().strftime("%Y%m%d")), after=None, limit=1)


def _engine(runtime: Runtime) -> None:
    """A local engine (loaded with the runtime, once a process) looks for faces in a small blank image: a
    millisecond or two. The Azure backend is a client whose every call is billed: built is all it is asked."""
    engine = getattr(runtime.face_api, "engine", None)
    if engine is not None:
        engine.detect(BLANK, embeddings=False)


CHECKS: dict[str, Callable[[Runtime], None]] = {"storage": _storage, "visitIndex": _visit_index, "engine": _engine}


def _run(name: str, check: Callable[[Runtime], None], runtime: Runtime) -> Check:
    try:
        check(runtime)
    except FaceApiError as exc:
        return Check(False, exc.code)
    except Exception as exc:
        log.warning("Health check %s failed: %s", name, type(exc).__name__, exc_info=True)
        return Check(False, type(exc).__name__)
    return Check(True)


def check_health() -> Health:
    try:
        runtime = current_runtime()  # the engine's models load here, on a process's first request only
    except Exception as exc:
        log.exception("The service could not start")
        return Health({"engine": Check(False, type(exc).__name__)})
    with ThreadPoolExecutor(max_workers=len(CHECKS)) as pool:
        futures = {name: pool.submit(_run, name, check, runtime) for name, check in CHECKS.items()}
        return Health({name: future.result() for name, future in futures.items()})
