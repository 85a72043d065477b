"""Webhooks: subscriptions managed through the API, and the queue functions that deliver visit events to them."""

from __future__ import annotations

import azure.functions as func

from ..events.deliveries import deliver, fan_out, give_up
from ..events.webhooks import WebhookRequest, WebhookStore
from ..runtime import Runtime, current_runtime
from ..storage.layout import EVENTS_QUEUE, WEBHOOK_DELIVERIES_QUEUE, poison_queue
from .background import STORAGE_CONNECTION
from .http import body_field, empty_response, endpoint, json_body, json_response

bp = func.Blueprint()


@endpoint(bp, "put_webhook", "api/webhooks/{webhookId}", "PUT")
def put_webhook(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    body = json_body(req)
    request = WebhookRequest(
        url=body_field(body, "url", str, ""),
        secret=body_field(body, "secret", str, None),
        person_ids=body_field(body, "personIds", list, None),
        camera_ids=body_field(body, "cameraIds", list, None),
        event_types=body_field(body, "eventTypes", list, None),
    )
    webhook = WebhookStore(runtime.storage).put(req.route_params["webhookId"], request, runtime.settings)
    return json_response(webhook.to_dict())


@endpoint(bp, "list_webhooks", "api/webhooks", "GET")
def list_webhooks(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    return json_response([webhook.to_dict() for webhook in WebhookStore(runtime.storage).all()])


@endpoint(bp, "get_webhook", "api/webhooks/{webhookId}", "GET")
def get_webhook(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    store = WebhookStore(runtime.storage)
    webhook = store.get(req.route_params["webhookId"])
    return json_response({**webhook.to_dict(), "status": store.status(webhook.webhook_id).to_dict()})


@endpoint(bp, "delete_webhook", "api/webhooks/{webhookId}", "DELETE")
def delete_webhook(req: func.HttpRequest, runtime: Runtime) -> func.HttpResponse:
    WebhookStore(runtime.storage).delete(req.route_params["webhookId"])
    return empty_response()


@bp.function_name("webhook_fan_out")
@bp.queue_trigger(arg_name="msg", queue_name=EVENTS_QUEUE, connection=STORAGE_CONNECTION)
def webhook_fan_out(msg: func.QueueMessage) -> None:
    fan_out(current_runtime().storage, msg.get_body())


@bp.function_name("webhook_delivery")
@bp.queue_trigger(arg_name="msg", queue_name=WEBHOOK_DELIVERIES_QUEUE, connection=STORAGE_CONNECTION)
def webhook_delivery(msg: func.QueueMessage) -> None:
    runtime = current_runtime()
    deliver(runtime.storage, runtime.settings, msg.get_body())


@bp.function_name("webhook_delivery_given_up")
@bp.queue_trigger(arg_name="msg", queue_name=poison_queue(WEBHOOK_DELIVERIES_QUEUE), connection=STORAGE_CONNECTION)
def webhook_delivery_given_up(msg: func.QueueMessage) -> None:
    give_up(current_runtime().storage, msg.get_body())
