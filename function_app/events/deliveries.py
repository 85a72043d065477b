"""Webhook deliveries, off the frame path: a visit event on the `visit-events` queue is fanned out to one
`webhook-deliveries` message per matching subscription; each is POSTed to its URL, signed, and on failure sent
again on the queue with a growing delay (WEBHOOK_RETRY_SECONDS), until it is dead-lettered in the webhook's
status.

Delivered at least once: a delivery is recorded only after its POST succeeded, and nothing after a success
raises, so the host never tries a delivered message again; a fan-out retried by the host may still repeat a
delivery, hence the `X-Event-Id` header receivers dedupe by."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import metrics
from ..clock import utc_now
from ..errors import BadArgument, InvalidURL, WebhookNotFound
from ..image_urls import Resolver, pinned_connection
from ..settings import Settings
from ..storage import Storage
from ..storage.layout import WEBHOOK_DELIVERIES_QUEUE
from ..storage.messages import parse_message, send_json
from .log import unqueued
from .records import VisitEvent
from .webhooks import (
    MAX_REASON_LENGTH,
    DeadLetter,
    DeliveryStatus,
    Failure,
    Webhook,
    WebhookStore,
    webhook_target,
)

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Signature-256"


@dataclass(frozen=True)
class Delivery:
    """One event for one webhook, and which try this is (1 for the first)."""

    webhook_id: str
    event: dict[str, Any]
    attempt: int = 1

    @property
    def event_id(self) -> str:
        return str(self.event["id"])

    @property
    def event_type(self) -> str:
        return str(self.event["type"])

    def body(self) -> bytes:
        """The bytes POSTed and signed: the event's JSON, the same at every try."""
        return json.dumps(self.event, separators=(",", ":"), ensure_ascii=False).encode()

    def to_dict(self) -> dict[str, Any]:
        return {"webhookId": self.webhook_id, "attempt": self.attempt, "event": self.event}

    @classmethod
    def from_message(cls, content: str | bytes) -> Delivery:
        message = parse_message(content, "webhookId")
        event, attempt = message.get("event"), message.get("attempt")
        if not isinstance(event, dict) or not isinstance(attempt, int) or attempt < 1:
            raise BadArgument("The delivery message needs an 'event' and an 'attempt'.")
        return cls(message["webhookId"], _checked_event(event), attempt)


def _checked_event(event: dict[str, Any]) -> dict[str, Any]:
    """The event's JSON as it came (what is posted), once it reads as a visit event."""
    try:
        VisitEvent.from_dict(event)
    except (KeyError, TypeError, ValueError):
        raise BadArgument("The queue message is not a visit event.") from None
    return event


def signature(secret: str, body: bytes) -> str:
    """GitHub's convention: `sha256=` and the hex HMAC-SHA256 of the raw body, keyed with the secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def fan_out(storage: Storage, content: str | bytes) -> int:
    """The `visit-events` message's work: one delivery message per event and subscription that wants it, in the
    events' order. Answers how many."""
    events = [_checked_event(event) for event in unqueued(content)]
    webhooks = WebhookStore(storage).all()
    deliveries = [
        Delivery(webhook.webhook_id, event) for event in events for webhook in webhooks if webhook.matches(event)
    ]
    for delivery in deliveries:
        send_json(storage, WEBHOOK_DELIVERIES_QUEUE, delivery.to_dict())
    return len(deliveries)


def deliver(storage: Storage, settings: Settings, content: str | bytes, resolve: Resolver = socket.getaddrinfo) -> bool:
    """The `webhook-deliveries` message's work: POST the event; on failure queue the next try, or dead-letter
    it after the last. Answers whether it was delivered."""
    delivery = Delivery.from_message(content)
    store = WebhookStore(storage)
    try:
        webhook = store.get(delivery.webhook_id)
    except WebhookNotFound:
        log.info("Webhook %s was deleted: event %s not delivered", delivery.webhook_id, delivery.event_id)
        return False
    reason = post_event(webhook, delivery, settings, resolve)
    if reason is None:
        moment = utc_now()
        _record_quietly(store, delivery, lambda status: status.with_delivery(moment))
        return True
    count_failure(delivery, reason)
    failure = Failure(utc_now(), delivery.event_id, delivery.attempt, reason[:MAX_REASON_LENGTH])
    delays = settings.webhook_retry_delays
    if delivery.attempt > len(delays):
        dead_letter(store, delivery, reason, failure)
        return False
    retry = Delivery(delivery.webhook_id, delivery.event, delivery.attempt + 1)
    storage.send_message(
        WEBHOOK_DELIVERIES_QUEUE, json.dumps(retry.to_dict()), visibility_delay=delays[delivery.attempt - 1]
    )
    _record_quietly(store, delivery, lambda status: status.with_failure(failure))
    return False


def post_event(
    webhook: Webhook, delivery: Delivery, settings: Settings, resolve: Resolver = socket.getaddrinfo
) -> str | None:
    """POST the event to the webhook's URL: None when a 2xx answered, else why it failed (no URL or secret in it)."""
    try:
        target = webhook_target(webhook.url, settings, resolve)
    except InvalidURL as refused:
        return refused.message
    body = delivery.body()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "video-face-recognition-webhooks",
        "X-Webhook-Id": webhook.webhook_id,
        "X-Event-Id": delivery.event_id,
        "X-Event-Type": delivery.event_type,
        "X-Delivery-Attempt": str(delivery.attempt),
    }
    if webhook.secret is not None:
        headers[SIGNATURE_HEADER] = signature(webhook.secret, body)
    connection = pinned_connection(target, settings.webhook_timeout_seconds)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        status = connection.getresponse().status  # its body is never read: the connection is closed
    except TimeoutError:
        return f"no answer within {settings.webhook_timeout_seconds} s"
    except (OSError, http.client.HTTPException) as exc:
        return f"could not post to {target.host}: {type(exc).__name__}"
    finally:
        connection.close()
    return None if 200 <= status < 300 else f"the receiver answered {status}"


def dead_letter(store: WebhookStore, delivery: Delivery, reason: str, failure: Failure | None = None) -> None:
    """Give the event up: counted and kept among the webhook's latest dead letters (with its last try's
    `failure`, when a try failed)."""
    letter = DeadLetter(delivery.event_id, delivery.event_type, utc_now(), delivery.attempt, reason[:MAX_REASON_LENGTH])

    def change(status: DeliveryStatus) -> DeliveryStatus:
        return (status if failure is None else status.with_failure(failure)).with_dead_letter(letter)

    store.change_status(delivery.webhook_id, change)
    metrics.webhook_failed("dead-lettered")
    log.warning(
        "Webhook %s: event %s dead-lettered after %d tries: %s",
        delivery.webhook_id,
        delivery.event_id,
        delivery.attempt,
        letter.reason,
    )


def give_up(storage: Storage, content: str | bytes) -> None:
    """A delivery message the host moved to the poison queue (its function failed every time, storage down say):
    dead-lettered, so the status says so."""
    delivery = Delivery.from_message(content)
    store = WebhookStore(storage)
    try:
        store.get(delivery.webhook_id)
    except WebhookNotFound:
        log.info("Webhook %s was deleted: its poisoned delivery dropped", delivery.webhook_id)
        return
    dead_letter(store, delivery, "the delivery function failed at every try: see the logs")


def count_failure(delivery: Delivery, reason: str) -> None:
    """Every failed try passes here: the one place an operator's metric counts webhook failures."""
    metrics.webhook_failed("try")
    log.warning(
        "Webhook %s: event %s not delivered at try %d: %s",
        delivery.webhook_id,
        delivery.event_id,
        delivery.attempt,
        reason,
    )


def _record_quietly(
    store: WebhookStore, delivery: Delivery, change: Callable[[DeliveryStatus], DeliveryStatus]
) -> None:
    """Change the status, never raising: the host must not try again an event already delivered (or already
    queued for its next try) because its bookkeeping failed."""
    try:
        store.change_status(delivery.webhook_id, change)
    except Exception:
        log.warning("Webhook %s: its status could not be updated", delivery.webhook_id, exc_info=True)
