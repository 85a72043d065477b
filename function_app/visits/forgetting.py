"""A deleted person's visits lose their link to them: each becomes an Unknown visit (no personId, name Unknown,
confidence 0, no `namedBy`) and its snapshot, the person's face, is deleted; when and where someone was seen stays.
Found through the visit index (every day's rows of the person), so no day's blobs are read. A deleted group's
persons are each unlinked so."""

from __future__ import annotations

from dataclasses import replace

from ..faceapi import FaceApi
from ..faceapi.group_kinds import GroupKind
from ..models import UNKNOWN
from ..storage.layout import VISITS_CONTAINER
from .store import VisitStore


def unlink_persons(visits: VisitStore, group_id: str, person_ids: list[str]) -> int:
    """Unlink the persons' visits of that group; answers how many there were."""
    unlinked = 0
    for record in visits.index.of_persons(person_ids) if person_ids else []:
        if record.person_group_id != group_id:  # person ids are unique; a person of another group is not this one
            continue
        visits.save(replace(record, person_id=None, name=UNKNOWN, confidence=0.0, named_by=None, snapshot=None))
        visits.storage.delete_blob(VISITS_CONTAINER, record.snapshot_blob_name)
        unlinked += 1
    return unlinked


def person_ids(face_api: FaceApi, group_id: str, kind: GroupKind) -> list[str]:
    """Every person of a group, page after page: read before the group is deleted, to unlink them after."""
    found: list[str] = []
    while page := face_api.list_persons(group_id, found[-1] if found else None, kind=kind):
        found += [person.person_id for person in page]
    return found
