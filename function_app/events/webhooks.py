"""Webhook subscriptions and their delivery status, one blob each in the `webhooks` container.

A subscription is a URL, an optional secret that signs each delivery (stored, never answered back and never
logged) and optional filters by person, camera and event type. Its status (deliveries, failures, dead
letters) is a blob of its own, changed with ETags by the deliveries of any instance, so that a PUT over the
subscription never races a delivery's count."""

from __future__ import annotations

import json
import logging
import random
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ..clock import iso, parse_iso, utc_now
from ..errors import BadArgument, DamagedRecord, WebhookNotFound
from ..image_urls import Resolver, Target, checked_target
from ..settings import Settings
from ..storage import BlobNotFound, PreconditionFailed, Storage
from ..storage.layout import WEBHOOKS_CONTAINER
from .records import KINDS

log = logging.getLogger(__name__)
WEBHOOK_ID_PATTERN = re.compile(r"[a-z0-9_-]{1,64}")
EVENT_TYPES = KINDS
UNKNOWN_PERSON = "Unknown"  # in a personIds filter: the visits of nobody enrolled
MAX_FILTER_VALUES = 100
MAX_SECRET_LENGTH = 256
LATEST_DEAD_LETTERS = 10  # a status keeps these; the count keeps the rest
MAX_REASON_LENGTH = 300
RECORD = ".json"
STATUS = ".status.json"
STATUS_WRITE_ATTEMPTS = 20  # concurrent deliveries of one webhook each change its status over the version read


def check_webhook_id(webhook_id: str) -> str:
    if not isinstance(webhook_id, str) or not WEBHOOK_ID_PATTERN.fullmatch(webhook_id):
        raise BadArgument(f"Invalid webhookId {webhook_id!r}: use 1 to 64 lowercase letters, digits, '-' or '_'.")
    return webhook_id


def webhook_target(url: str, settings: Settings, resolve: Resolver = socket.getaddrinfo) -> Target:
    """Where a webhook posts: an http or https URL whose every address is public, unless WEBHOOK_ALLOW_PRIVATE
    is on. Checked when subscribing, and again at each delivery (a DNS answer may have changed since)."""
    return checked_target(
        url,
        resolve,
        lambda host: settings.webhook_allow_private == "on",
        what="webhook URL",
        remedy="set WEBHOOK_ALLOW_PRIVATE=on to allow them",
    )


@dataclass(frozen=True)
class Webhook:
    webhook_id: str
    url: str
    secret: str | None = field(repr=False)  # write-only: in the stored record, never in an answer or a log
    person_ids: tuple[str, ...] = ()  # empty: every person, and Unknown
    camera_ids: tuple[str, ...] = ()  # empty: every camera
    event_types: tuple[str, ...] = ()  # empty: every type
    created: datetime = field(default_factory=utc_now)

    def matches(self, event: dict[str, Any]) -> bool:
        person = event.get("personId") or UNKNOWN_PERSON
        return (
            (not self.event_types or event.get("type") in self.event_types)
            and (not self.camera_ids or event.get("cameraId") in self.camera_ids)
            and (not self.person_ids or person in self.person_ids)
        )

    def to_dict(self) -> dict[str, Any]:
        """The answer: everything but the secret, of which only whether there is one."""
        return {
            "webhookId": self.webhook_id,
            "url": self.url,
            "signed": self.secret is not None,
            "personIds": list(self.person_ids),
            "cameraIds": list(self.camera_ids),
            "eventTypes": list(self.event_types),
            "createdDateTime": iso(self.created),
        }

    def to_record(self) -> dict[str, Any]:
        return {**self.to_dict(), "secret": self.secret}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Webhook:
        return cls(
            webhook_id=str(record["webhookId"]),
            url=str(record["url"]),
            secret=None if record.get("secret") is None else str(record["secret"]),
            person_ids=tuple(record["personIds"]),
            camera_ids=tuple(record["cameraIds"]),
            event_types=tuple(record["eventTypes"]),
            created=parse_iso(record["createdDateTime"]),
        )


@dataclass(frozen=True)
class WebhookRequest:
    """A PUT's body, as given."""

    url: str
    secret: str | None = None
    person_ids: list[str] | None = None
    camera_ids: list[str] | None = None
    event_types: list[str] | None = None


@dataclass(frozen=True)
class DeadLetter:
    event_id: str
    event_type: str
    time: datetime  # when it was given up
    attempts: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "eventId": self.event_id,
            "eventType": self.event_type,
            "time": iso(self.time),
            "attempts": self.attempts,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeadLetter:
        return cls(
            str(data["eventId"]), str(data["eventType"]), parse_iso(data["time"]), int(data["attempts"]), data["reason"]
        )


@dataclass(frozen=True)
class Failure:
    time: datetime
    event_id: str
    attempt: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"time": iso(self.time), "eventId": self.event_id, "attempt": self.attempt, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Failure:
        return cls(parse_iso(data["time"]), str(data["eventId"]), int(data["attempt"]), str(data["reason"]))


@dataclass(frozen=True)
class DeliveryStatus:
    delivered: int = 0
    last_delivery: datetime | None = None
    failed_attempts: int = 0
    last_failure: Failure | None = None
    dead_lettered: int = 0
    dead_letters: tuple[DeadLetter, ...] = ()  # the latest first, LATEST_DEAD_LETTERS at most

    def with_delivery(self, moment: datetime) -> DeliveryStatus:
        return replace(self, delivered=self.delivered + 1, last_delivery=moment)

    def with_failure(self, failure: Failure) -> DeliveryStatus:
        return replace(self, failed_attempts=self.failed_attempts + 1, last_failure=failure)

    def with_dead_letter(self, letter: DeadLetter) -> DeliveryStatus:
        latest = (letter, *self.dead_letters)[:LATEST_DEAD_LETTERS]
        return replace(self, dead_lettered=self.dead_lettered + 1, dead_letters=latest)

    def to_dict(self) -> dict[str, Any]:
        return {
            "delivered": self.delivered,
            "lastDelivery": None if self.last_delivery is None else iso(self.last_delivery),
            "failedAttempts": self.failed_attempts,
            "lastFailure": None if self.last_failure is None else self.last_failure.to_dict(),
            "deadLettered": self.dead_lettered,
            "deadLetters": [letter.to_dict() for letter in self.dead_letters],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeliveryStatus:
        return cls(
            delivered=int(data["delivered"]),
            last_delivery=None if data["lastDelivery"] is None else parse_iso(data["lastDelivery"]),
            failed_attempts=int(data["failedAttempts"]),
            last_failure=None if data["lastFailure"] is None else Failure.from_dict(data["lastFailure"]),
            dead_lettered=int(data["deadLettered"]),
            dead_letters=tuple(DeadLetter.from_dict(d) for d in data["deadLetters"]),
        )


def _string_list(values: list[str] | None, name: str, allowed: tuple[str, ...] = ()) -> tuple[str, ...]:
    if values is None:
        return ()
    if len(values) > MAX_FILTER_VALUES or not all(isinstance(v, str) and 0 < len(v) <= 128 for v in values):
        raise BadArgument(f"'{name}' is invalid: a list of at most {MAX_FILTER_VALUES} non-empty strings.")
    if allowed and not set(values) <= set(allowed):
        raise BadArgument(f"'{name}' is invalid: use {', '.join(allowed)}.")
    return tuple(dict.fromkeys(values))


class WebhookStore:
    def __init__(self, storage: Storage):
        self.storage = storage

    def put(self, webhook_id: str, request: WebhookRequest, settings: Settings) -> Webhook:
        """Create the subscription, or replace it whole (its status kept)."""
        check_webhook_id(webhook_id)
        webhook_target(request.url, settings)
        if request.secret is not None and not 0 < len(request.secret) <= MAX_SECRET_LENGTH:
            raise BadArgument(f"'secret' is invalid: 1 to {MAX_SECRET_LENGTH} characters.")
        try:
            created = self.get(webhook_id).created
        except WebhookNotFound:
            self.storage.delete_blob(WEBHOOKS_CONTAINER, webhook_id + STATUS)  # left by a deleted namesake
            created = utc_now()
        webhook = Webhook(
            webhook_id,
            request.url,
            request.secret,
            _string_list(request.person_ids, "personIds"),
            _string_list(request.camera_ids, "cameraIds"),
            _string_list(request.event_types, "eventTypes", EVENT_TYPES),
            created,
        )
        self.storage.put_blob(WEBHOOKS_CONTAINER, webhook_id + RECORD, json.dumps(webhook.to_record()).encode())
        return webhook

    def get(self, webhook_id: str) -> Webhook:
        name = check_webhook_id(webhook_id) + RECORD
        try:
            data = self.storage.get_blob(WEBHOOKS_CONTAINER, name).data
        except BlobNotFound:
            raise WebhookNotFound(f"Webhook {webhook_id} is not found.") from None
        try:
            return Webhook.from_record(json.loads(data))
        except (ValueError, KeyError, TypeError):
            raise DamagedRecord(f"The webhook record {WEBHOOKS_CONTAINER}/{name} is damaged: PUT it again.") from None

    def all(self) -> list[Webhook]:
        """Every subscription; a damaged one is left out (and logged), never hiding the others."""
        found = []
        for name in self._record_names():
            try:
                found.append(self.get(name.removesuffix(RECORD)))
            except WebhookNotFound:  # deleted since the listing
                continue
            except DamagedRecord as damaged:
                log.error("%s", damaged.message)
        return found

    def delete(self, webhook_id: str) -> None:
        if not self.storage.delete_blob(WEBHOOKS_CONTAINER, check_webhook_id(webhook_id) + RECORD):
            raise WebhookNotFound(f"Webhook {webhook_id} is not found.")
        self.storage.delete_blob(WEBHOOKS_CONTAINER, webhook_id + STATUS)

    def status(self, webhook_id: str) -> DeliveryStatus:
        return self._read_status(webhook_id)[0]

    def change_status(self, webhook_id: str, change: Callable[[DeliveryStatus], DeliveryStatus]) -> DeliveryStatus:
        """Apply `change` over the latest status: read, change, write over that version, again on a conflict,
        after a random pause that grows with each conflict (writers that collided do not collide again in step)."""
        for attempt in range(STATUS_WRITE_ATTEMPTS):
            if attempt:
                time.sleep(random.uniform(0, min(0.5, 0.005 * 2**attempt)))
            status, etag = self._read_status(webhook_id)
            changed = change(status)
            data = json.dumps(changed.to_dict()).encode()
            try:
                self.storage.put_blob(
                    WEBHOOKS_CONTAINER, webhook_id + STATUS, data, if_match=etag, only_if_new=etag is None
                )
                return changed
            except PreconditionFailed:
                continue
        raise PreconditionFailed(f"Webhook {webhook_id}'s status kept changing")

    def _read_status(self, webhook_id: str) -> tuple[DeliveryStatus, str | None]:
        name = check_webhook_id(webhook_id) + STATUS
        try:
            blob = self.storage.get_blob(WEBHOOKS_CONTAINER, name)
        except BlobNotFound:
            return DeliveryStatus(), None
        try:
            return DeliveryStatus.from_dict(json.loads(blob.data)), blob.etag
        except (ValueError, KeyError, TypeError):
            raise DamagedRecord(
                f"The webhook status {WEBHOOKS_CONTAINER}/{name} is damaged: DELETE the webhook and PUT it again."
            ) from None

    def _record_names(self) -> list[str]:
        """The subscriptions' blobs (a webhook id has no '.': a status blob is never one)."""
        names = (blob.name for blob in self.storage.list_blobs(WEBHOOKS_CONTAINER))
        return [name for name in names if name.endswith(RECORD) and "." not in name.removesuffix(RECORD)]
