"""Every blob container and storage queue the app uses, named in one place.

Containers:
    persongroups  {groupId}.json: the group records, so that listing groups reads only them
    facegroups    {groupId}/persons/, {groupId}/faces/, {groupId}/journal/ (append blobs), {groupId}/training/:
                  the local gallery (see faceapi/local/gallery.py, embedding_journal.py, training.py,
                  journal_training.py), one prefix per group so a delete is one sweep;
                  large person groups under large.groups/; .operations/{operationId}.json: the long-running
                  operations of the v1.1+ API (features/operations.py). No group id contains a '.'.
                  FaceLists/ and LargeFaceLists/: the face lists (faceapi/local/face_lists.py), capitalised
                  so that no group id can meet them
    faceids       {faceId}.json: faces from detect, kept for their time to live
    sightings     {YYYYMMDD}/{cameraId}/{HH}.jsonl: FRAME_RECORDS=on, one JSON line per frame with faces, a blob
                  (append blob) per camera per UTC hour (features/sightings.py)
    enrollments   {enrollmentId}.json (+ .zip): bulk enrollment jobs
    visits        {YYYYMMDD}/{visitId}.json (+ .jpg, the snapshot): one record per visit (visits/records.py)
    cameras       {cameraId}.json: each camera's tracks and open visits, written with ETags (tracking/)
    events        {YYYYMMDD}/{HH}.jsonl: the visit events, a JSON line each, an append blob per UTC hour
                  (events/log.py); purged after EVENT_RETENTION_DAYS
    webhooks      {webhookId}.json: a webhook subscription (with its secret); {webhookId}.status.json: its
                  delivery status, written with ETags (events/webhooks.py)
Tables:
    visits        the visit index: PartitionKey YYYYMMDD, RowKey first-seen time + visit id (visits/table_index.py;
                  with STORAGE_BACKEND=local the same index is STORAGE_DIR/visits.sqlite3)
Queues (each with its `-poison` twin, where the host moves a message that failed maxDequeueCount times):
    train-requests   a group to train (local backend)
    enroll-requests  a bulk enrollment job to run
    unknown-visits   a closed Unknown visit whose snapshot joins its group's Unknown visitors (visits/strangers.py)
    visit-events     each visit event, for delivery (events/log.py), fanned out to the webhooks that want it
                     (events/deliveries.py)
    webhook-deliveries  one visit event for one webhook, with its try count (events/deliveries.py)
"""

from __future__ import annotations

GROUPS_CONTAINER = "persongroups"
GALLERY_CONTAINER = "facegroups"
FACE_IDS_CONTAINER = "faceids"
SIGHTINGS_CONTAINER = "sightings"
ENROLLMENTS_CONTAINER = "enrollments"
VISITS_CONTAINER = "visits"
CAMERAS_CONTAINER = "cameras"
EVENTS_CONTAINER = "events"
WEBHOOKS_CONTAINER = "webhooks"
OPERATIONS_PREFIX = ".operations/"  # in GALLERY_CONTAINER
APP_CONTAINERS = (
    GROUPS_CONTAINER,
    GALLERY_CONTAINER,
    FACE_IDS_CONTAINER,
    SIGHTINGS_CONTAINER,
    ENROLLMENTS_CONTAINER,
    VISITS_CONTAINER,
    CAMERAS_CONTAINER,
    EVENTS_CONTAINER,
    WEBHOOKS_CONTAINER,
)

VISITS_TABLE = "visits"
APP_TABLES = (VISITS_TABLE,)

TRAIN_QUEUE = "train-requests"
ENROLL_QUEUE = "enroll-requests"
UNKNOWN_VISITS_QUEUE = "unknown-visits"
EVENTS_QUEUE = "visit-events"
WEBHOOK_DELIVERIES_QUEUE = "webhook-deliveries"
WORK_QUEUES = (TRAIN_QUEUE, ENROLL_QUEUE, UNKNOWN_VISITS_QUEUE, EVENTS_QUEUE, WEBHOOK_DELIVERIES_QUEUE)


def poison_queue(queue: str) -> str:
    return f"{queue}-poison"


APP_QUEUES = tuple(q for queue in WORK_QUEUES for q in (queue, poison_queue(queue)))
