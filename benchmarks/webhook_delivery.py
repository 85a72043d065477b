"""What a webhook delivery costs off the frame path, against a bare signed POST of the same event.

    python -m benchmarks.webhook_delivery [--events 100] [--no-azurite]

A receiver on loopback answers 200. The baseline posts each event's JSON with its signature over one new
connection, as a delivery does, and nothing else. The delivery path then handles the same events as the queue
functions do: the `visit-events` message fanned out to every subscription (a listing and a read of each), and
each `webhook-deliveries` message posted, its subscription read and its status written; on local storage and
on Azurite (started here). Prints ms an event and the ratio to the baseline of the same run. The frame path
does none of this: it appends the event to its log and queues it, whatever the subscriptions (video_visits
measures that part).
"""

from __future__ import annotations

import argparse
import http.client
import json
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from function_app.clock import utc_now
from function_app.events.deliveries import deliver, fan_out, signature
from function_app.events.log import queued
from function_app.events.records import STARTED, VisitEvent, new_event_id
from function_app.events.webhooks import WebhookRequest, WebhookStore
from function_app.models import UNKNOWN
from function_app.settings import Settings
from function_app.storage import Storage
from function_app.storage.azure_storage import AzureStorage
from function_app.storage.layout import WEBHOOK_DELIVERIES_QUEUE
from function_app.storage.local_folder import LocalFolderStorage
from function_app.visits.records import VisitRecord, new_visit_id
from tests.support import azurite
from tests.support.webhook_receiver import SECRET, webhook_receiver

SUBSCRIPTIONS = (1, 10)


def events(count: int) -> list[bytes]:
    now = utc_now()
    found = []
    for _ in range(count):
        visit = VisitRecord(new_visit_id(now), "door", "door", "family", None, UNKNOWN, 0.0, now, now, 3, False, None)
        found.append(json.dumps(VisitEvent(new_event_id(), STARTED, now, visit).to_dict()).encode())
    return found


def bare_posts(url: str, bodies: list[bytes]) -> float:
    """ms an event: a signed POST over a new connection, as a delivery sends it."""
    parts = urlsplit(url)
    began = time.perf_counter()
    for body in bodies:
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
        headers = {"Content-Type": "application/json", "X-Signature-256": signature(SECRET, body)}
        connection.request("POST", parts.path, body=body, headers=headers)
        assert connection.getresponse().status == 200
        connection.close()
    return 1000 * (time.perf_counter() - began) / len(bodies)


def deliveries(storage: Storage, url: str, bodies: list[bytes], subscriptions: int) -> float:
    """ms an event: fanned out to `subscriptions` webhooks, and each delivery handled."""
    store = WebhookStore(storage)
    for webhook in store.all():
        store.delete(webhook.webhook_id)
    for n in range(subscriptions):
        store.put(f"bench-{n}", WebhookRequest(url=url, secret=SECRET), Settings())
    settings = Settings()
    began = time.perf_counter()
    for body in bodies:
        fan_out(storage, queued([json.loads(body)]))  # as the frame path queues a frame's one event
        while messages := storage.receive_messages(WEBHOOK_DELIVERIES_QUEUE, max_messages=32):
            for message in messages:
                assert deliver(storage, settings, message.content)
                storage.delete_message(WEBHOOK_DELIVERIES_QUEUE, message)
    return 1000 * (time.perf_counter() - began) / len(bodies)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--no-azurite", action="store_true", help="local storage only")
    args = parser.parse_args()
    bodies = events(args.events)
    with webhook_receiver() as receiver, tempfile.TemporaryDirectory() as folder:
        url = f"{receiver.url}/ok"
        baseline = bare_posts(url, bodies)
        storages: dict[str, Storage] = {"local": LocalFolderStorage(Path(folder) / "data")}
        process = None
        if not args.no_azurite:
            (Path(folder) / "azurite").mkdir()
            process, connection = azurite.start_azurite(Path(folder) / "azurite")
            storages["Azurite"] = AzureStorage(connection)
        try:
            print(f"{args.events} events; bare signed POST: {baseline:.2f} ms an event\n")
            print("| storage | webhooks | ms an event | ms a delivery | ratio to the bare POST, a delivery |")
            print("|---|---|---|---|---|")
            for label, storage in storages.items():
                for subscriptions in SUBSCRIPTIONS:
                    ms = deliveries(storage, url, events(args.events), subscriptions)  # new ids each run
                    per = ms / subscriptions
                    print(f"| {label} | {subscriptions} | {ms:.2f} | {per:.2f} | {per / baseline:.1f}x |")
        finally:
            if process is not None:
                azurite.stop_azurite(process)


if __name__ == "__main__":
    main()
