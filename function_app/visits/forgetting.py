"""A deleted person's visits lose their link to them: each becomes an Unknown visit (no personId, name Unknown,
confidence 0, no `namedBy`) and its snapshot, the person's face, is deleted; when and where someone was seen stays.
Found through the visit index (every day's rows of the person), so no day's blobs are read."""

from __future__ import annotations

from dataclasses import replace

from ..models import UNKNOWN
from ..storage.layout import VISITS_CONTAINER
from .store import VisitStore


def unlink_person(visits: VisitStore, group_id: str, person_id: str) -> int:
    """Unlink the person's visits of that group; answers how many there were."""
    unlinked = 0
    for record in visits.index.of_person(person_id):
        if record.person_group_id != group_id:  # person ids are unique; a person of another group is not this one
            continue
        visits.save(replace(record, person_id=None, name=UNKNOWN, confidence=0.0, named_by=None, snapshot=None))
        visits.storage.delete_blob(VISITS_CONTAINER, record.snapshot_blob_name)
        unlinked += 1
    return unlinked
