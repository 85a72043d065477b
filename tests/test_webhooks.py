"""Webhooks over real HTTP: `python -m function_app serve` (its worker runs the queue functions) on local storage
and on a real Azurite, subscriptions made through the API, visit events put on the `visit-events` queue as the
frame path puts them, and a real receiver on loopback that checks each delivery's signature. Each test filters
its subscriptions to a camera of its own, as the server's queues are shared by the module's tests. Last, the
dev video's frames posted to a server with the dev people enrolled: every visit's events reach a webhook once,
in order, and a receiver failing each event's first two tries gets each once too."""

from __future__ import annotations

import functools
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from function_app.clock import utc_now
from function_app.errors import BadArgument, InvalidURL
from function_app.events.deliveries import Delivery, deliver, fan_out, give_up
from function_app.events.log import queued
from function_app.events.records import ENDED, NAMED, STARTED, VisitEvent, new_event_id
from function_app.events.webhooks import WebhookRequest, WebhookStore, webhook_target
from function_app.models import UNKNOWN
from function_app.settings import Settings
from function_app.storage import Storage
from function_app.storage.layout import EVENTS_QUEUE, WEBHOOK_DELIVERIES_QUEUE, WEBHOOKS_CONTAINER
from function_app.storage.local_folder import LocalFolderStorage
from function_app.visits.records import VisitRecord, new_visit_id

from .support.azurite import free_port
from .support.service import keyed_session, served_storage, start_server, stop_server
from .support.waiting import wait_for
from .support.webhook_receiver import SECRET, Receiver, webhook_receiver
from .test_tracking import AUDIENCE, FRONTAL, Server, enrolled_storage, frames  # noqa: F401 (a fixture)
from .test_tracking import KEY as TRACKING_KEY

KEY = f"webhooks-{uuid.uuid4().hex}"
RETRIES = "1,1,1"  # seconds before each retry: 4 tries in all
TRIES = 4


@dataclass(frozen=True)
class Service:
    url: str
    log: Path
    storage: Storage  # the server's, to put events on its queue
    session: requests.Session

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, f"{self.url}{path}", timeout=30, **kwargs)

    def subscribe(self, webhook_id: str, **body: Any) -> dict:
        answer = self.call("PUT", f"/api/webhooks/{webhook_id}", json=body)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def status(self, webhook_id: str) -> dict:
        answer = self.call("GET", f"/api/webhooks/{webhook_id}")
        assert answer.status_code == 200, answer.text
        return answer.json()["status"]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as running:
        yield running


@pytest.fixture(scope="module", params=["local", "azurite"])
def service(request, tmp_path_factory) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp(f"webhooks-{request.param}")
    env, storage = served_storage(request, request.param, folder)
    env |= {"FACE_API_KEY": KEY, "WEBHOOK_RETRY_SECONDS": RETRIES}
    process, url = start_server(env, folder / "server.log")
    try:
        yield Service(url, folder / "server.log", storage, keyed_session(KEY))
    finally:
        stop_server(process)
    assert SECRET not in (folder / "server.log").read_text()  # never logged, whatever happened


def camera() -> str:
    return f"cam-{uuid.uuid4().hex[:8]}"


def visit_event(camera_id: str, kind: str = STARTED, person_id: str | None = None) -> dict[str, Any]:
    """A visit event's JSON, as the frame path queues it on `visit-events`."""
    now = utc_now()
    visit = VisitRecord(
        visit_id=new_visit_id(now),
        camera=camera_id,
        location=camera_id,
        person_group_id="family",
        person_id=person_id,
        name="someone" if person_id else UNKNOWN,
        confidence=0.9 if person_id else 0.0,
        first_seen=now,
        last_seen=now,
        frames=3,
        closed=kind == ENDED,
        snapshot=None,
    )
    return VisitEvent(new_event_id(), kind, now, visit.with_snapshot()).to_dict()


def publish(service: Service, event: dict[str, Any]) -> None:
    service.storage.send_message(EVENTS_QUEUE, queued([event]))


def test_an_event_is_posted_once_signed_with_its_headers_and_the_status_counts_it(service, receiver):
    cam = camera()
    made = service.subscribe("signed-" + cam, url=f"{receiver.url}/ok", secret=SECRET, cameraIds=[cam])
    assert made["signed"] is True and "secret" not in made
    event = visit_event(cam)
    publish(service, event)
    [got] = wait_for(lambda: receiver.answered("/ok", event["id"]))
    assert got.event == event and got.signed and got.status == 200
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["X-Webhook-Id"] == "signed-" + cam
    assert (got.headers["X-Event-Id"], got.headers["X-Event-Type"]) == (event["id"], STARTED)
    assert got.headers["X-Signature-256"].startswith("sha256=")
    status = wait_for(lambda: (s := service.status("signed-" + cam))["delivered"] == 1 and s)
    assert status["lastDelivery"] and status["failedAttempts"] == 0 and status["deadLettered"] == 0
    listed = service.call("GET", "/api/webhooks").json()
    assert all("secret" not in w for w in listed) and "signed-" + cam in {w["webhookId"] for w in listed}
    assert SECRET not in service.call("GET", f"/api/webhooks/signed-{cam}").text


def test_a_webhook_without_a_secret_is_not_signed(service, receiver):
    cam = camera()
    assert service.subscribe("plain-" + cam, url=f"{receiver.url}/ok", cameraIds=[cam])["signed"] is False
    event = visit_event(cam, ENDED)
    publish(service, event)
    [got] = wait_for(lambda: receiver.answered("/ok", event["id"]))
    assert "X-Signature-256" not in got.headers and got.event == event


def test_filters_choose_the_events_by_camera_person_and_type(service, receiver):
    cam, other = camera(), camera()
    person = str(uuid.uuid4())
    path = f"/ok?{cam}"
    service.subscribe("by-person-" + cam, url=receiver.url + path, cameraIds=[cam], personIds=[person])
    service.subscribe("unknowns-" + cam, url=receiver.url + path, cameraIds=[cam], personIds=["Unknown"])
    service.subscribe("named-" + cam, url=receiver.url + path, cameraIds=[cam], eventTypes=[NAMED])
    events = [
        visit_event(cam, STARTED, person),  # by-person
        visit_event(cam, NAMED, person),  # by-person, named
        visit_event(cam, STARTED, None),  # unknowns
        visit_event(cam, NAMED, str(uuid.uuid4())),  # named
        visit_event(other, NAMED, person),  # no one: another camera
    ]
    for event in events:
        publish(service, event)
    expected = {
        (events[0]["id"], "by-person-" + cam),
        (events[1]["id"], "by-person-" + cam),
        (events[1]["id"], "named-" + cam),
        (events[2]["id"], "unknowns-" + cam),
        (events[3]["id"], "named-" + cam),
    }

    def delivered() -> set[tuple[str, str]]:
        return {(r.headers["X-Event-Id"], r.headers["X-Webhook-Id"]) for r in receiver.on(path)}

    wait_for(lambda: delivered() >= expected)
    # The last event was fanned out (to nobody) before the ones after it: wait for the queue to be empty.
    publish(service, barrier := visit_event(cam, STARTED, person))
    wait_for(lambda: receiver.answered(path, barrier["id"]))
    assert delivered() == expected | {(barrier["id"], "by-person-" + cam)}


def test_a_receiver_that_fails_twice_gets_the_event_exactly_once(service, receiver):
    cam = camera()
    service.subscribe("flaky-" + cam, url=f"{receiver.url}/fails/2", secret=SECRET, cameraIds=[cam])
    event = visit_event(cam, NAMED, str(uuid.uuid4()))
    publish(service, event)
    wait_for(lambda: any(r.status == 200 for r in receiver.answered("/fails/2", event["id"])))
    status = wait_for(lambda: (s := service.status("flaky-" + cam))["delivered"] == 1 and s)
    time.sleep(2 * float(RETRIES.split(",")[0]) + 1)  # longer than a retry's delay: no further try comes
    tries = receiver.answered("/fails/2", event["id"])
    assert [(r.status, r.headers["X-Delivery-Attempt"]) for r in tries] == [(500, "1"), (500, "2"), (200, "3")]
    assert all(r.signed and r.body == tries[0].body for r in tries)  # the same bytes, the same signature
    assert status["failedAttempts"] == 2 and status["deadLettered"] == 0
    assert status["lastFailure"]["eventId"] == event["id"] and "500" in status["lastFailure"]["reason"]


def _dead_lettered(service: Service, webhook_id: str) -> dict | None:
    status = service.status(webhook_id)
    return status if status["deadLettered"] else None


def test_a_receiver_always_failing_is_dead_lettered_and_the_status_says_so(service, receiver):
    cam = camera()
    closed_port = free_port()
    service.subscribe("down-" + cam, url=f"{receiver.url}/down", cameraIds=[cam])
    service.subscribe("gone-" + cam, url=f"http://127.0.0.1:{closed_port}/hook", cameraIds=[cam])
    event = visit_event(cam, ENDED)
    publish(service, event)
    for webhook_id, reason in (("down-" + cam, "answered 500"), ("gone-" + cam, "ConnectionRefusedError")):
        status = wait_for(functools.partial(_dead_lettered, service, webhook_id))
        assert status["delivered"] == 0 and status["failedAttempts"] == TRIES
        [letter] = status["deadLetters"]
        assert (letter["eventId"], letter["eventType"], letter["attempts"]) == (event["id"], ENDED, TRIES)
        assert reason in letter["reason"] and reason in status["lastFailure"]["reason"]
    assert len(receiver.answered("/down", event["id"])) == TRIES


def test_a_deleted_webhook_gets_nothing_more(service, receiver):
    cam = camera()
    service.subscribe("deleted-" + cam, url=f"{receiver.url}/fails/1", cameraIds=[cam])
    event = visit_event(cam)
    publish(service, event)
    wait_for(lambda: receiver.answered("/fails/1", event["id"]))  # the first try failed: the next is queued
    assert service.call("DELETE", f"/api/webhooks/deleted-{cam}").status_code == 200
    time.sleep(2 * float(RETRIES.split(",")[0]) + 1)
    assert [r.status for r in receiver.answered("/fails/1", event["id"])] == [500]


def test_subscriptions_are_replaced_read_and_deleted_with_the_face_api_errors(service, receiver):
    cam = camera()
    first = service.subscribe("crud-" + cam, url=f"{receiver.url}/ok", secret=SECRET, eventTypes=[STARTED])
    again = service.subscribe("crud-" + cam, url=f"{receiver.url}/ok", cameraIds=[cam, cam])
    assert again["createdDateTime"] == first["createdDateTime"]
    assert (again["signed"], again["cameraIds"], again["eventTypes"]) == (False, [cam], [])
    assert service.call("GET", f"/api/webhooks/crud-{cam}").json()["url"] == f"{receiver.url}/ok"
    refusals = [
        ("PUT", "crud-x", {"url": "ftp://127.0.0.1/hook"}, 400, "InvalidURL"),
        ("PUT", "crud-x", {"url": "http://user:pw@127.0.0.1/hook"}, 400, "InvalidURL"),
        ("PUT", "crud-x", {"url": f"{receiver.url}/a hook"}, 400, "InvalidURL"),
        ("PUT", "crud-x", {}, 400, "InvalidURL"),
        ("PUT", "crud-x", {"url": f"{receiver.url}/ok", "eventTypes": ["visit.left"]}, 400, "BadArgument"),
        ("PUT", "crud-x", {"url": f"{receiver.url}/ok", "cameraIds": "door"}, 400, "BadArgument"),
        ("PUT", "crud-x", {"url": f"{receiver.url}/ok", "personIds": [""]}, 400, "BadArgument"),
        ("PUT", "crud-x", {"url": f"{receiver.url}/ok", "secret": "x" * 257}, 400, "BadArgument"),
        ("PUT", "Crud X", {"url": f"{receiver.url}/ok"}, 400, "BadArgument"),
        ("GET", "crud-nothing", None, 404, "WebhookNotFound"),
        ("DELETE", "crud-nothing", None, 404, "WebhookNotFound"),
    ]
    for method, webhook_id, body, status, code in refusals:
        answer = service.call(method, f"/api/webhooks/{webhook_id}", json=body)
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), (method, body, answer.text)
    assert service.call("GET", "/api/webhooks/crud-x").status_code == 404  # nothing refused was made
    assert service.call("DELETE", f"/api/webhooks/crud-{cam}").status_code == 200
    assert service.call("GET", f"/api/webhooks/crud-{cam}").status_code == 404
    assert requests.get(f"{service.url}/api/webhooks", timeout=30).status_code == 401


# -- in-process: what a local server cannot show -------------------------------------------------------
class _Resolver:
    def __init__(self, address: str):
        self.address = address

    def __call__(self, host: str, port: int, type: int = 0) -> list[tuple]:
        return [(2, type, 6, "", (self.address, port))]


CLOUD = Settings(webhook_allow_private="off", webhook_retry_seconds="1")


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.168.1.20", "169.254.169.254", "::1"])
def test_in_the_cloud_private_addresses_are_refused(address):
    with pytest.raises(InvalidURL, match="WEBHOOK_ALLOW_PRIVATE"):
        webhook_target("http://receiver.example/hook", CLOUD, _Resolver(address))
    assert webhook_target("http://receiver.example/hook", Settings(), _Resolver(address)).address == address
    assert webhook_target("https://receiver.example/hook", CLOUD, _Resolver("20.50.2.1")).port == 443


def test_in_the_cloud_a_loopback_subscription_is_refused_and_nothing_stored(tmp_path):
    store = WebhookStore(LocalFolderStorage(tmp_path))
    with pytest.raises(InvalidURL, match="loopback"):
        store.put("local", WebhookRequest(url="http://127.0.0.1:8123/api/webhook/x"), CLOUD)
    assert store.all() == []


def test_a_host_that_resolves_to_a_private_address_at_delivery_is_not_posted_to(tmp_path, receiver):
    """Checked at each delivery, not only when subscribing: a DNS answer may change between the two."""
    storage = LocalFolderStorage(tmp_path)
    store = WebhookStore(storage)
    port = receiver.url.rsplit(":", 1)[1]
    store.put("rebound", WebhookRequest(url=f"http://localhost:{port}/ok"), Settings())
    event = visit_event(camera())
    message = json.dumps(Delivery("rebound", event, attempt=2).to_dict())
    assert deliver(storage, CLOUD, message, _Resolver("127.0.0.1")) is False
    status = store.status("rebound")
    assert status.dead_lettered == 1 and "loopback" in status.dead_letters[0].reason
    assert receiver.answered("/ok", event["id"]) == []
    # the same delivery where private addresses are allowed reaches the receiver
    assert deliver(storage, Settings(), message, _Resolver("127.0.0.1")) is True
    assert len(receiver.answered("/ok", event["id"])) == 1 and store.status("rebound").delivered == 1


def test_a_receiver_slower_than_the_timeout_is_a_failed_try(tmp_path, receiver):
    storage = LocalFolderStorage(tmp_path)
    store = WebhookStore(storage)
    store.put("slow", WebhookRequest(url=f"{receiver.url}/slow"), Settings())
    event = visit_event(camera())
    impatient = Settings(webhook_timeout_seconds=0.5, webhook_retry_seconds="0")
    assert deliver(storage, impatient, json.dumps(Delivery("slow", event).to_dict())) is False
    failure = store.status("slow").last_failure
    assert failure is not None and failure.reason == "no answer within 0.5 s"
    [retry] = storage.receive_messages(WEBHOOK_DELIVERIES_QUEUE)  # the next try, queued
    assert Delivery.from_message(retry.content) == Delivery("slow", event, attempt=2)


def test_a_poisoned_delivery_and_a_damaged_subscription_leave_the_rest_working(tmp_path, receiver):
    """A delivery message whose function failed every time is dead-lettered by the poison queue's function; a
    damaged subscription record is left out of the fan-out, the others still get the event."""
    storage = LocalFolderStorage(tmp_path)
    store = WebhookStore(storage)
    for webhook_id in ("fine", "broken"):
        store.put(webhook_id, WebhookRequest(url=f"{receiver.url}/ok"), Settings())
    storage.put_blob(WEBHOOKS_CONTAINER, "broken.json", b"{not json")
    event = visit_event(camera())
    assert fan_out(storage, queued([event])) == 1
    [message] = storage.receive_messages(WEBHOOK_DELIVERIES_QUEUE)
    assert Delivery.from_message(message.content).webhook_id == "fine"
    give_up(storage, message.content)
    [letter] = store.status("fine").dead_letters
    assert (letter.event_id, letter.attempts) == (event["id"], 1) and "every try" in letter.reason
    with pytest.raises(BadArgument):
        fan_out(storage, queued([{"id": "e1", "type": STARTED}]))  # not a visit event: never handled
    with pytest.raises(BadArgument):
        fan_out(storage, json.dumps(event))  # not a message of events


def test_concurrent_deliveries_each_count_in_the_status(storage, unique_name):
    """Deliveries on several instances change one status blob over the version each read: none is lost."""
    store = WebhookStore(storage)
    store.put(unique_name, WebhookRequest(url="http://127.0.0.1:9/hook"), Settings())
    moment = utc_now()

    def deliveries() -> None:
        for _ in range(5):
            store.change_status(unique_name, lambda status: status.with_delivery(moment))

    workers = [threading.Thread(target=deliveries) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert store.status(unique_name).delivered == 30
    store.delete(unique_name)


def test_the_retry_list_is_read_once_at_start_and_a_bad_one_stops_it():
    assert Settings().webhook_retry_delays == (5, 30, 120, 600, 3600)
    assert Settings.from_env({"WEBHOOK_RETRY_SECONDS": " 0, 2 ,"}).webhook_retry_delays == (0, 2)
    for bad in ("5,x", "-1", "604801", ","):
        with pytest.raises(ValueError, match="WEBHOOK_RETRY_SECONDS"):
            Settings.from_env({"WEBHOOK_RETRY_SECONDS": bad})


# -- the dev video, end to end -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def video_server(tmp_path_factory, testdata) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("webhooks-video")
    env = enrolled_storage(folder / "data", testdata, VISIT_CLOSE_SECONDS="3", WEBHOOK_RETRY_SECONDS=RETRIES)
    served = Server(env, folder / "server.log")
    yield served
    served.stop()


def test_each_visit_of_the_dev_video_reaches_the_webhooks_started_named_and_ended_once_in_order(
    video_server,
    receiver,
    frames,  # noqa: F811
):
    cam = camera()
    session = keyed_session(TRACKING_KEY)
    for webhook_id, path in (("video-" + cam, f"/ok?{cam}"), ("video-flaky-" + cam, "/fails/2")):
        body = {"url": receiver.url + path, "secret": SECRET, "cameraIds": [cam]}
        assert session.put(f"{video_server.url}/api/webhooks/{webhook_id}", json=body, timeout=30).status_code == 200
    for i in [*FRONTAL, *AUDIENCE]:
        video_server.frame(cam, frames[i])

    def visits() -> list[dict]:
        return session.get(f"{video_server.url}/api/visits", params={"cameraId": cam}, timeout=30).json()["visits"]

    wait_for(lambda: all(v["closed"] for v in visits()), 90)  # the timer closes them, 3 s after the last frame
    logged = session.get(f"{video_server.url}/api/events", params={"top": "1000"}, timeout=30).json()["events"]
    mine = [e for e in logged if e["cameraId"] == cam]
    assert mine and {e["visitId"] for e in mine} >= {v["visitId"] for v in visits()}
    wait_for(lambda: len(receiver.on(f"/ok?{cam}")) == len(mine), 60)
    posted = receiver.on(f"/ok?{cam}")
    assert [r.event for r in posted] == mine  # each once, in the order they were logged, whole
    assert all(r.signed and r.status == 200 for r in posted)
    by_visit: dict[str, list[str]] = {}
    for r in posted:
        by_visit.setdefault(r.event["visitId"], []).append(r.event["type"])
    assert all(kinds == [STARTED, NAMED, ENDED] for kinds in by_visit.values()), by_visit
    # The receiver failing each event's first two tries gets each event once all the same.
    flaky = {e["id"]: e for e in mine}
    wait_for(lambda: {r.headers["X-Event-Id"] for r in receiver.on("/fails/2") if r.status == 200} >= set(flaky), 90)
    for event_id, event in flaky.items():
        tries = receiver.answered("/fails/2", event_id)
        assert [r.status for r in tries] == [500, 500, 200] and tries[-1].event == event

    def status() -> dict:
        return session.get(f"{video_server.url}/api/webhooks/video-flaky-{cam}", timeout=30).json()["status"]

    counted = wait_for(lambda: (s := status())["delivered"] == len(mine) and s)
    assert (counted["failedAttempts"], counted["deadLettered"]) == (2 * len(mine), 0)
    kinds = dict(Counter(e["type"] for e in mine))
    names = dict(Counter(e["name"] for e in mine if e["type"] == NAMED))
    print(f"dev video on a webhook: {len(by_visit)} visits {names}, {len(mine)} events {kinds}")
