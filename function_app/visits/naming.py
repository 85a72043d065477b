"""Naming an Unknown visitor later: the visit's snapshot becomes a face of a person (an existing one of the
visit's group, or one made for it), through the Face API's own person and add-face operations, so that it
works on either engine; then the visit's record says who it was and that a user said so.

A visit already named (by the tracker or by a user) is refused with 409 VisitAlreadyNamed rather than
renamed: its snapshot may already be a face of that person, and taking it back is a person's face delete,
which the caller can do through the Face API before asking again. An open visit is refused too (409
VisitNotClosed): the frame path still writes its record from the camera's state, and would write the name
over; a closed visit is never written by it again."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..clock import utc_now
from ..errors import BadArgument, FaceApiError, VisitAlreadyNamed, VisitNotClosed
from ..events.log import publish
from ..events.records import NAMED, VisitEvent, new_event_id
from ..faceapi import FaceApi
from ..models import TrainingStatus
from .records import NAMED_BY_USER, VisitRecord
from .snapshots import add_snapshot_face
from .store import VisitStore

NAMED_CONFIDENCE = 1.0  # a user's word, not the tracker's evidence


@dataclass(frozen=True)
class NameRequest:
    """Either `person_id` (an existing person of the visit's group) or `name` (a new person, with `user_data`)."""

    person_id: str | None = None
    name: str | None = None
    user_data: str | None = None
    train: bool = True

    def __post_init__(self) -> None:
        if (self.person_id is None) == (self.name is None):
            raise BadArgument("Give either 'personId' (an existing person) or 'name' (a new person).")
        if self.person_id is not None and self.user_data is not None:
            raise BadArgument("'userData' is for a new person: give it with 'name', not with 'personId'.")


@dataclass(frozen=True)
class NamedVisit:
    visit: VisitRecord
    persisted_face_id: str
    created_person: bool
    training: TrainingStatus | None  # None: training not asked for

    def to_dict(self) -> dict[str, Any]:
        return {
            "visit": self.visit.to_dict(),
            "personId": self.visit.person_id,
            "persistedFaceId": self.persisted_face_id,
            "createdPerson": self.created_person,
            "training": None if self.training is None else self.training.to_dict(),
        }


def name_visit(face_api: FaceApi, visits: VisitStore, visit_id: str, request: NameRequest) -> NamedVisit:
    record = visits.get(visit_id)
    if not record.unknown:
        raise VisitAlreadyNamed(f"Visit {visit_id} is already named ({record.name}, personId {record.person_id}).")
    if not record.closed:
        raise VisitNotClosed(
            f"Visit {visit_id} is still open: name its visitor once it has closed (VISIT_CLOSE_SECONDS unseen)."
        )
    snapshot = visits.snapshot(visit_id)
    group_id = record.person_group_id
    if request.person_id is not None:
        person = face_api.get_person(group_id, request.person_id)  # PersonNotFound (404) before anything changes
        created = False
    else:
        person = face_api.create_person(group_id, str(request.name), request.user_data)
        created = True
    try:
        face = add_snapshot_face(
            lambda target: face_api.add_face(
                group_id, person.person_id, snapshot, target_face=target, user_data=visit_id
            ),
            snapshot,
        )
    except FaceApiError:
        if created:  # no person without the face that made them: the call changes nothing when it fails
            face_api.delete_person(group_id, person.person_id)
        raise
    named = visits.save(
        replace(
            record, person_id=person.person_id, name=person.name, confidence=NAMED_CONFIDENCE, named_by=NAMED_BY_USER
        )
    )
    publish(visits.storage, [VisitEvent(new_event_id(), NAMED, utc_now(), named)])
    training = face_api.request_training(group_id) if request.train else None
    return NamedVisit(named, face.persisted_face_id, created, training)
