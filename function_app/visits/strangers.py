"""Past visits of the same stranger. Each closed Unknown visit's snapshot is added, off the frame path (the
`unknown-visits` queue), to a large face list of its group's Unknown visitors, the face's userData naming the
visit and its day; the list is trained through the training queue like any large face list. A visit's
similar visits are then the Face API's find-similar of its snapshot's face in that list, so either engine
answers it. A daily timer deletes the faces of visits older than UNKNOWN_VISIT_RETENTION_DAYS (the visit
records stay; only their faces stop being searched)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..clock import utc_now
from ..errors import (
    BadArgument,
    InvalidImage,
    LargeFaceListExists,
    LargeFaceListNotFound,
    LargeFaceListNotTrained,
    NoFaceFound,
    NotFound,
    VisitNotFound,
)
from ..faceapi import FaceApi
from ..faceapi.face_lists import MAX_SIMILAR_CANDIDATES, FaceList, ListKind, MatchMode, SimilarCandidates
from ..models import DetectOptions, FaceRectangle, PersistedFace
from ..settings import Settings
from ..storage import Storage
from ..storage.layout import UNKNOWN_VISITS_QUEUE
from ..storage.messages import parse_message, send_json
from .records import VisitRecord, day_of
from .snapshots import add_snapshot_face, snapshot_face
from .store import VisitStore

log = logging.getLogger(__name__)
LARGE = ListKind.LARGE_FACE_LIST
LIST_PREFIX = "unknown-"
OWNER_KEY = "unknownVisitorsOf"  # in the list's userData: which group's strangers (and that the app made it)
PAGE = 1000
QUERY_FACE_SECONDS = 60  # the searched snapshot's detected face is needed for one find-similar only


def strangers_list_id(group_id: str) -> str:
    """The large face list of a group's Unknown visitors: `unknown-<groupId>`, or a digest of a long id."""
    list_id = LIST_PREFIX + group_id
    return list_id if len(list_id) <= 64 else LIST_PREFIX + hashlib.sha256(group_id.encode()).hexdigest()[:32]


def announce_closed(storage: Storage, record: VisitRecord) -> None:
    """The frame path's part: a closed Unknown visit with a snapshot is queued, never searched inline."""
    if record.closed and record.unknown and record.snapshot is not None:
        send_json(storage, UNKNOWN_VISITS_QUEUE, {"visitId": record.visit_id})


def remember_stranger(face_api: FaceApi, visits: VisitStore, content: str | bytes) -> str | None:
    """The `unknown-visits` message's work: the visit's snapshot into its group's list, then a training.
    Answers the persisted face id, or None when there is nothing to add (the visit was deleted, named
    meanwhile, or its snapshot has no face the engine finds: searching it could never match)."""
    visit_id = parse_message(content, "visitId")["visitId"]
    try:
        record = visits.get(visit_id)
        snapshot = visits.snapshot(visit_id)
    except VisitNotFound:
        log.info("Unknown visit %s is gone: nothing to remember", visit_id)
        return None
    if not record.unknown:
        return None
    list_id = strangers_list_id(record.person_group_id)
    user_data = json.dumps({"visitId": visit_id, "day": record.day}, separators=(",", ":"))

    def add(target: FaceRectangle | None) -> PersistedFace:
        return face_api.add_list_face(LARGE, list_id, snapshot, target_face=target, user_data=user_data)

    try:
        try:
            face = add_snapshot_face(add, snapshot)
        except LargeFaceListNotFound:
            _create_list(face_api, list_id, record.person_group_id)
            face = add_snapshot_face(add, snapshot)
    except InvalidImage as exc:
        log.info("Unknown visit %s is not searchable: %s", visit_id, exc.message)
        return None
    face_api.request_list_training(list_id)
    return face.persisted_face_id


def _central(faces: list[dict[str, Any]], centre: FaceRectangle) -> dict[str, Any]:
    """The detected face nearest the snapshot's centre, where the visitor's face is."""

    def off_centre(face: dict[str, Any]) -> float:
        box = face["faceRectangle"]
        dx = box["left"] + box["width"] / 2 - (centre.left + centre.width / 2)
        dy = box["top"] + box["height"] / 2 - (centre.top + centre.height / 2)
        return dx * dx + dy * dy

    return min(faces, key=off_centre)


def _create_list(face_api: FaceApi, list_id: str, group_id: str) -> None:
    with contextlib.suppress(LargeFaceListExists):  # another worker made it meanwhile
        face_api.create_face_list(
            LARGE, list_id, f"Unknown visitors of {group_id}"[:128], json.dumps({OWNER_KEY: group_id})
        )


@dataclass(frozen=True)
class SimilarVisit:
    visit: VisitRecord
    confidence: float  # find-similar's: how likely the two faces are of one person

    def to_dict(self) -> dict[str, Any]:
        return {"confidence": round(self.confidence, 5), "visit": self.visit.to_dict()}


@dataclass(frozen=True)
class SimilarVisits:
    visit_id: str
    similar: list[SimilarVisit]  # best first

    def to_dict(self) -> dict[str, Any]:
        return {"visitId": self.visit_id, "visits": [v.to_dict() for v in self.similar]}


def similar_visits(
    face_api: FaceApi, visits: VisitStore, settings: Settings, visit_id: str, *, top: int, days: int | None
) -> SimilarVisits:
    """The Unknown visits (of the visit's group, first seen in the last `days` days, at most the retention)
    whose face find-similar takes for the same person as this visit's snapshot, best first. Visits named
    since are left out: they are no longer strangers."""
    retention = settings.unknown_visit_retention_days
    if days is not None and not 1 <= days <= retention:
        raise BadArgument(f"'days' is invalid: use 1 to {retention} (UNKNOWN_VISIT_RETENTION_DAYS).")
    record = visits.get(visit_id)
    snapshot = visits.snapshot(visit_id)
    faces = face_api.detect(snapshot, DetectOptions(face_id_ttl=QUERY_FACE_SECONDS))
    if not faces:
        raise NoFaceFound(f"Visit {visit_id}'s snapshot has no face the engine detects: it cannot be searched.")
    list_id = strangers_list_id(record.person_group_id)
    try:
        candidates = face_api.find_similar(
            _central(faces, snapshot_face(snapshot))["faceId"],  # the visitor's, not a neighbour's
            SimilarCandidates(large_face_list_id=list_id),
            max_candidates=MAX_SIMILAR_CANDIDATES,
            mode=MatchMode.MATCH_PERSON,
        )
    except (LargeFaceListNotFound, LargeFaceListNotTrained):
        return SimilarVisits(visit_id, [])  # no Unknown visit remembered (or trained) yet
    since = _oldest_day(days or retention)
    found: list[SimilarVisit] = []
    seen = {visit_id}
    for candidate in candidates:
        other = _visit_of(face_api, list_id, str(candidate.persisted_face_id))
        if other is None or other in seen or day_of(other) < since:
            continue
        seen.add(other)
        try:
            past = visits.get(other)
        except VisitNotFound:
            continue
        if past.unknown:
            found.append(SimilarVisit(past, candidate.confidence))
            if len(found) == top:
                break
    return SimilarVisits(visit_id, found)


def _visit_of(face_api: FaceApi, list_id: str, face_id: str) -> str | None:
    """The visit a face of the list stands for; None for a face deleted since the training."""
    try:
        face = face_api.get_list_face(LARGE, list_id, face_id)
    except NotFound:
        return None
    return _user_data(face).get("visitId")


def _user_data(face: PersistedFace) -> dict[str, str]:
    try:
        data = json.loads(face.user_data or "")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _oldest_day(days: int, now: datetime | None = None) -> str:
    """The first UTC day (YYYYMMDD) of the last `days` days, today included."""
    return ((now or utc_now()) - timedelta(days=days - 1)).strftime("%Y%m%d")


def purge_strangers(face_api: FaceApi, settings: Settings, now: datetime | None = None) -> int:
    """Delete the faces of Unknown visits first seen before the retention from every group's list, and train
    the lists that changed; answers how many faces were deleted."""
    since = _oldest_day(settings.unknown_visit_retention_days, now)
    deleted = 0
    for face_list in _strangers_lists(face_api):
        expired = [f for f in _faces(face_api, face_list.list_id) if _user_data(f).get("day", since) < since]
        for face in expired:
            try:
                face_api.delete_list_face(LARGE, face_list.list_id, face.persisted_face_id)
            except NotFound:
                continue
        if expired:
            face_api.request_list_training(face_list.list_id)
            log.info(
                "Deleted %d faces of Unknown visits first seen before %s from large face list %s "
                "(UNKNOWN_VISIT_RETENTION_DAYS=%d)",
                len(expired),
                since,
                face_list.list_id,
                settings.unknown_visit_retention_days,
            )
        deleted += len(expired)
    return deleted


def _strangers_lists(face_api: FaceApi) -> Iterator[FaceList]:
    """The lists this module made (their userData names the group), not a user's list that shares the prefix."""
    start: str | None = None
    while page := face_api.list_face_lists(LARGE, start=start, top=PAGE):
        for face_list in page:
            if face_list.list_id.startswith(LIST_PREFIX) and OWNER_KEY in (face_list.user_data or ""):
                yield face_list
        start = page[-1].list_id


def _faces(face_api: FaceApi, list_id: str) -> Iterator[PersistedFace]:
    start: str | None = None
    while page := face_api.list_list_faces(LARGE, list_id, start=start, top=PAGE):
        yield from page
        start = page[-1].persisted_face_id
