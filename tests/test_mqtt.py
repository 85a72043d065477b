"""MQTT and Home Assistant, end to end: the real service (`python -m function_app serve`) with dev/people enrolled,
the dev video's frames posted to it, the bridge (`python -m edge_client.bridge`) reading its event feed, a real
Mosquitto started here on a loopback port without persistence, and a real paho subscriber. Each test takes topic
prefixes of its own, as the broker is shared by the module."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import cv2
import pytest
import requests

from edge_client.event_feed import ENDED, NAMED, STARTED, FeedEvent
from edge_client.home_assistant import LAST_SEEN, PRESENCE
from edge_client.mqtt import MqttSettings, MqttSettingsError
from edge_client.mqtt_topics import Topics, check_prefix
from edge_client.presence import Presence

from .support import mosquitto
from .support.images import blank_jpeg, still_camera
from .support.service import PROJECT, run_cli, start_server, stop_server
from .support.waiting import wait_for

KEY = f"mqtt-{uuid.uuid4().hex}"
MQTT_PASSWORD = f"broker-{uuid.uuid4().hex}"  # given to the bridge; never in its output
GROUP = "family"
VIDEO = "video/short_hamilton_clip.mp4"
FRONTAL = range(82, 211, 2)  # testdata/README: Lin-Manuel Miranda, frontal (every second frame: 15 a second)
AUDIENCE = range(211, 275, 2)  # Barack Obama (enrolled) between two people who are not
LIN = "lin_manuel_miranda"
STRANGER = "people_lfw/vladimir_putin/2.jpg"  # not enrolled: an Unknown visit (tests/test_unknown_visitors.py)
CLOSE_SECONDS = 1.0  # VISIT_CLOSE_SECONDS: a camera's next frame after this closes the visits it no longer sees


@pytest.fixture(scope="module")
def broker(tmp_path_factory) -> Iterator[mosquitto.Broker]:
    if not mosquitto.installed():
        pytest.skip(f"Mosquitto is not installed ({mosquitto.MOSQUITTO}): scripts/setup installs it with apt")
    broker = mosquitto.Broker(tmp_path_factory.mktemp("mosquitto"))
    yield broker
    broker.stop()


class Service:
    def __init__(self, folder: Path, testdata: Path):
        env = {
            "STORAGE_BACKEND": "local",
            "STORAGE_DIR": str(folder / "data"),
            "VISIT_CLOSE_SECONDS": str(CLOSE_SECONDS),
        }
        done = run_cli("enroll", str(testdata / "people"), "--group", GROUP, data=folder / "data", **env)
        assert done.returncode == 0, done.stdout + done.stderr
        self.process, self.url = start_server({**env, "FACE_API_KEY": KEY}, folder / "server.log")

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Ocp-Apim-Subscription-Key": KEY, **kwargs.pop("headers", {})}
        reply = requests.request(method, f"{self.url}{path}", headers=headers, timeout=120, **kwargs)
        assert reply.status_code < 300, reply.text
        return reply

    def frame(self, camera: str, image: bytes) -> dict:
        headers = {"Content-Type": "application/octet-stream"}
        params = {"personGroupId": GROUP, "cameraId": camera}
        return self.call("POST", "/api/frames", params=params, data=image, headers=headers).json()

    def persons(self) -> dict[str, str]:
        return {p["name"]: p["personId"] for p in self.call("GET", f"/face/v1.0/persongroups/{GROUP}/persons").json()}

    def visit(self, camera: str, frames: list[bytes]) -> list[dict]:
        """The frames at `camera`, then nobody for longer than VISIT_CLOSE_SECONDS: the visits close. The answers."""
        answers = [self.frame(camera, image) for image in frames]
        time.sleep(CLOSE_SECONDS + 0.2)
        self.frame(camera, blank_jpeg())
        return answers


@pytest.fixture(scope="module")
def service(tmp_path_factory, testdata) -> Iterator[Service]:
    served = Service(tmp_path_factory.mktemp("mqtt-service"), testdata)
    yield served
    stop_server(served.process)


@pytest.fixture(scope="module")
def frames(testdata) -> dict[int, bytes]:
    """The frames of the dev video the tests post (JPEG, by frame number)."""
    video = cv2.VideoCapture(str(testdata / VIDEO))
    found, index = {}, 0
    wanted = set(FRONTAL) | set(AUDIENCE)
    while True:
        ok, bgr = video.read()
        if not ok:
            break
        if index in wanted:
            found[index] = cv2.imencode(".jpg", bgr)[1].tobytes()
        index += 1
    video.release()
    assert set(found) == wanted
    return found


class Bridge:
    """`python -m edge_client.bridge` as a subprocess, with topic prefixes of its own; stopped with SIGTERM."""

    def __init__(self, service: Service, broker: mosquitto.Broker, folder: Path, name: str = ""):
        name = name or uuid.uuid4().hex[:8]
        self.topics = Topics(f"facerec-{name}", GROUP, f"homeassistant-{name}")
        self.state = folder / f"bridge-{name}.json"
        self.log = folder / f"bridge-{name}.log"
        self.service, self.broker = service, broker
        self.process: subprocess.Popen | None = None

    def start(self) -> Bridge:
        command = [sys.executable, "-m", "edge_client.bridge", "--service", self.service.url, "--group", GROUP]
        command += ["--mqtt", self.broker.url, "--mqtt-prefix", self.topics.prefix]
        command += ["--mqtt-discovery-prefix", self.topics.discovery_prefix, "--mqtt-state", str(self.state)]
        command += ["--events-poll", "0.2", "--roster-refresh", "1"]
        env = {**os.environ, "PYTHONPATH": str(PROJECT), "FACE_API_KEY": KEY, "MQTT_PASSWORD": MQTT_PASSWORD}
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT)
        return self

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            assert self.process.wait(timeout=30) == 0, self.log.read_text()
            self.process = None

    @property
    def everything(self) -> tuple[str, str]:
        return f"{self.topics.prefix}/#", f"{self.topics.discovery_prefix}/#"

    def retained(self) -> dict[str, bytes]:
        return mosquitto.retained(self.broker, *self.everything)


@pytest.fixture
def bridge(service, broker, tmp_path) -> Iterator[Bridge]:
    bridge = Bridge(service, broker, tmp_path).start()
    yield bridge
    bridge.stop()
    output = bridge.log.read_text()
    assert KEY not in output and MQTT_PASSWORD not in output and "Traceback" not in output, output


def discovery_of(bridge: Bridge, retained: dict[str, bytes]) -> dict[str, dict]:
    prefix = f"{bridge.topics.discovery_prefix}/"
    return {topic: json.loads(payload) for topic, payload in retained.items() if topic.startswith(prefix)}


def test_every_enrolled_person_is_discovered_by_home_assistant_and_a_broker_restart_loses_nothing(
    service, broker, bridge
):
    topics = bridge.topics
    persons = service.persons()
    assert len(persons) == 6
    expected = {topics.discovery(c, p) for p in persons.values() for c in (PRESENCE, LAST_SEEN)}

    def all_configs() -> dict[str, dict] | None:
        found = discovery_of(bridge, bridge.retained())
        return found if expected <= found.keys() else None

    configs = wait_for(all_configs)
    for name, person_id in persons.items():
        presence = configs[topics.discovery(PRESENCE, person_id)]
        last_seen = configs[topics.discovery(LAST_SEEN, person_id)]
        state_topic = f"{topics.prefix}/persons/{person_id}/state"
        for config in (presence, last_seen):  # what Home Assistant needs to make the entity, and to keep it
            assert config["state_topic"] == config["json_attributes_topic"] == state_topic
            assert config["availability_topic"] == f"{topics.prefix}/status"
            assert config["device"]["identifiers"] == [f"{topics.node}_{person_id}"]
            assert config["device"]["name"] == name
        assert presence["device_class"] == "presence" and last_seen["device_class"] == "timestamp"
        assert presence["unique_id"] != last_seen["unique_id"]
    unique_ids = [c["unique_id"] for c in configs.values()]
    assert len(set(unique_ids)) == len(unique_ids)
    retained = bridge.retained()
    assert retained[f"{topics.prefix}/status"] == b"online"
    for person_id in persons.values():
        state = json.loads(retained[topics.person_state(person_id)])
        assert state["personId"] == person_id and state["present"] is False

    broker.restart()  # no persistence: the broker comes back empty; the bridge reconnects and publishes it all again
    wait_for(lambda: bridge.retained() == retained)


def test_a_person_enrolled_later_appears_and_a_person_deleted_disappears(service, bridge):
    topics = bridge.topics
    groups = f"/face/v1.0/persongroups/{GROUP}/persons"
    guest = service.call("POST", groups, json={"name": "guest"}).json()["personId"]
    entities = {topics.discovery(PRESENCE, guest), topics.discovery(LAST_SEEN, guest), topics.person_state(guest)}
    found = wait_for(lambda: entities <= (retained := bridge.retained()).keys() and retained)
    assert json.loads(found[topics.discovery(PRESENCE, guest)])["device"]["name"] == "guest"
    service.call("DELETE", f"{groups}/{guest}")
    # An empty retained message removes each: Home Assistant deletes the entities, the broker forgets the topics.
    wait_for(lambda: not entities & bridge.retained().keys())


def _event(kind: str, visit: str, camera: str, person: str | None, name: str = "Unknown", **more) -> FeedEvent:
    at = more.pop("time", "2026-11-26T10:00:00.000Z")
    return FeedEvent.from_dict(
        {"id": f"e{uuid.uuid4().hex}", "type": kind, "time": at, "visitId": visit, "cameraId": camera,
         "location": camera, "personGroupId": GROUP, "personId": person, "name": name, "confidence": 0.8,
         "firstSeen": at, "lastSeen": at, "frames": 3, "snapshot": None, "closed": kind == ENDED, **more}
    )  # fmt: skip


def test_presence_follows_visits_renamed_merged_and_ended_at_several_cameras():
    """The state kept from the events alone (the cases the dev video does not show): a person at two cameras is
    present until both visits end; a visit renamed (a user named the visitor) leaves the Unknown count; a visit
    merged into another ends without ending the person's presence."""
    presence = Presence()
    presence.set_roster({"p-ann": "ann", "p-bob": "bob"})
    assert presence.apply(_event(STARTED, "v1", "door", "p-ann", "ann")).new_camera == "door"
    presence.apply(_event(STARTED, "v2", "hall", "p-ann", "ann", time="2026-11-26T10:00:05.000Z"))
    assert presence.apply(_event(STARTED, "v3", "door", None)).new_camera is None  # its discovery is out already
    assert presence.camera("door").to_dict() | {"lastEvent": None} == {
        "cameraId": "door", "names": ["ann"], "unknown": 1, "count": 2, "lastEvent": None,
    }  # fmt: skip
    presence.apply(_event(ENDED, "v1", "door", "p-ann", "ann", time="2026-11-26T10:00:09.000Z"))
    ann = presence.persons["p-ann"]
    assert ann.present and ann.last_seen == "2026-11-26T10:00:09.000Z"  # still at the hall
    changes = presence.apply(_event(NAMED, "v3", "door", "p-bob", "bob"))
    assert changes.persons == {"p-bob"} and presence.camera("door").names == ("bob",)
    assert presence.camera("door").unknown == 0 and presence.persons["p-bob"].present
    presence.apply(_event(ENDED, "v2", "hall", "p-ann", "ann", mergedInto="v9"))
    assert not presence.persons["p-ann"].present
    assert presence.persons["p-ann"].last_seen == "2026-11-26T10:00:09.000Z"  # an older time never goes back
    # A user names an Unknown visit after it ended: the person was seen then, and is not there now.
    presence.apply(_event(STARTED, "v4", "hall", None))
    presence.apply(_event(ENDED, "v4", "hall", None, time="2026-11-26T10:01:00.000Z"))
    presence.apply(_event(NAMED, "v4", "hall", "p-ann", "ann", closed=True, time="2026-11-26T10:05:00.000Z"))
    ann = presence.persons["p-ann"]
    assert not ann.present and ann.visit_id == "v4" and ann.last_seen == "2026-11-26T10:05:00.000Z"
    assert presence.camera("hall").to_dict()["count"] == 0
    again = Presence.from_dict(json.loads(json.dumps(presence.to_dict())))
    assert again == presence
    changed, removed = again.set_roster({"p-bob": "robert", "p-cy": "cy"})
    assert changed == {"p-bob", "p-cy"} and removed == {"p-ann"} and again.persons["p-bob"].present


def visits_on(subscriber: mosquitto.Subscriber, topic: str, camera: str) -> dict[str, list[dict]]:
    """The events of `camera` received on `topic`, by visit, in the order received."""
    found: dict[str, list[dict]] = {}
    for message in subscriber.on(topic):
        event = message.json()
        if event["cameraId"] == camera:
            found.setdefault(event["visitId"], []).append(event)
    return found


def ended(subscriber: mosquitto.Subscriber, topic: str, camera: str, visits: set[str]) -> dict[str, list[dict]]:
    """Wait until each of `visits` has its visit.ended on `topic`; the events by visit."""

    def all_ended() -> dict[str, list[dict]] | None:
        found = visits_on(subscriber, topic, camera)
        return found if all(found.get(v) and found[v][-1]["type"] == ENDED for v in visits) else None

    return wait_for(all_ended)


def test_each_visit_of_the_dev_video_is_started_named_and_ended_once_in_order_with_its_states(
    service, frames, bridge, broker
):
    topics = bridge.topics
    lin = service.persons()[LIN]
    camera = f"stage-{uuid.uuid4().hex[:6]}"
    subscriber = mosquitto.Subscriber(broker, topics.events, topics.person_state(lin), topics.camera_state(camera))
    answers = service.visit(camera, [frames[i] for i in FRONTAL[:12]] + [frames[i] for i in AUDIENCE[:8]])
    visit_ids = {f["visitId"] for a in answers for f in a["faces"] if f["visitId"]}
    names = {f["visitId"]: f["name"] for a in answers for f in a["faces"] if f["visitId"]}
    assert LIN in names.values()
    events = ended(subscriber, topics.events, camera, visit_ids)
    assert events.keys() == visit_ids  # no visit of this camera but those the frames were answered with
    for visit_id, sequence in events.items():
        kinds = [e["type"] for e in sequence]
        assert kinds == [STARTED, NAMED, ENDED], (visit_id, kinds)  # exactly one of each, in order
        assert len({e["id"] for e in sequence}) == 3
        assert sequence[-1]["name"] == names[visit_id] and sequence[-1]["closed"] is True
        assert all(m.retain is False for m in subscriber.on(topics.events))
    subscriber.close()
    (lin_visit,) = (v for v, name in names.items() if name == LIN)
    # The person's retained state: present while the visit was open, not after it ended.
    states = [m.json() for m in subscriber.on(topics.person_state(lin)) if m.json()["visitId"] == lin_visit]
    assert states[0]["present"] is True and states[-1]["present"] is False
    retained = bridge.retained()
    final = json.loads(retained[topics.person_state(lin)])
    assert final | {"lastSeen": None, "confidence": None} == {
        "personId": lin, "name": LIN, "present": False, "cameraId": camera, "location": camera,
        "lastSeen": None, "confidence": None, "visitId": lin_visit,
    }  # fmt: skip
    assert final["lastSeen"] == events[lin_visit][-1]["lastSeen"]
    # The camera's: who was there while the visits were open, nobody once they ended.
    cameras = [m.json() for m in subscriber.on(topics.camera_state(camera))]
    assert max(c["count"] for c in cameras) >= 1 and LIN in {n for c in cameras for n in c["names"]}
    camera_state = json.loads(retained[topics.camera_state(camera)])
    assert camera_state["count"] == 0 and camera_state["names"] == [] and camera_state["lastEvent"]["type"] == ENDED
    config = json.loads(retained[topics.discovery(LAST_SEEN, f"camera_{camera}")])
    assert config["state_topic"] == topics.camera_state(camera) and config["value_template"] == "{{ value_json.count }}"


def test_a_bridge_restarted_neither_repeats_nor_loses_an_event(service, frames, broker, tmp_path):
    first_camera, second_camera = f"door-{uuid.uuid4().hex[:6]}", f"hall-{uuid.uuid4().hex[:6]}"
    bridge = Bridge(service, broker, tmp_path).start()
    subscriber = mosquitto.Subscriber(broker, bridge.topics.events)
    try:
        first = service.visit(first_camera, [frames[i] for i in FRONTAL[:8]])
        first_visits = {f["visitId"] for a in first for f in a["faces"] if f["visitId"]}
        ended(subscriber, bridge.topics.events, first_camera, first_visits)
        bridge.stop()
        # While the bridge is down the service keeps its events; the bridge starts again after its saved cursor.
        second = service.visit(second_camera, [frames[i] for i in FRONTAL[:8]])
        second_visits = {f["visitId"] for a in second for f in a["faces"] if f["visitId"]}
        bridge.start()
        events = ended(subscriber, bridge.topics.events, second_camera, second_visits)
        assert all([e["type"] for e in sequence] == [STARTED, NAMED, ENDED] for sequence in events.values())
        ids = [m.json()["id"] for m in subscriber.on(bridge.topics.events)]
        assert len(ids) == len(set(ids))  # none published twice, the first camera's included
        assert visits_on(subscriber, bridge.topics.events, first_camera).keys() == first_visits
    finally:
        subscriber.close()
        bridge.stop()


def test_the_edge_client_with_mqtt_publishes_its_group_s_events_on_its_own_thread(service, broker, testdata, tmp_path):
    """`python -m edge_client --mqtt ...` on the dev video (looped, at its frame rate, as a camera): its visit's events
    and the group's discovery reach the broker while it runs; after Ctrl-C (SIGTERM) it says `offline`."""
    topics = Topics(f"facerec-{uuid.uuid4().hex[:8]}", GROUP, f"homeassistant-{uuid.uuid4().hex[:8]}")
    camera = f"edge-{uuid.uuid4().hex[:6]}"
    subscriber = mosquitto.Subscriber(broker, topics.events)
    command = [sys.executable, "-m", "edge_client", "--headless", "--source", str(testdata / VIDEO), "--loop"]
    command += ["--camera-id", camera, "--mqtt", broker.url, "--mqtt-prefix", topics.prefix]
    command += ["--mqtt-discovery-prefix", topics.discovery_prefix, "--mqtt-state", str(tmp_path / "state.json")]
    command += ["--events-poll", "0.2"]
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "FACE_ENDPOINT": service.url, "FACE_API_KEY": KEY}
    env |= {"FACE_GROUP": GROUP, "MQTT_PASSWORD": MQTT_PASSWORD}
    log = tmp_path / "edge.log"
    with open(log, "wb") as out:
        client = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:

        def named_lin() -> bool:
            events = [e for v in visits_on(subscriber, topics.events, camera).values() for e in v]
            return any(e["type"] == NAMED and e["name"] == LIN for e in events)

        wait_for(named_lin, timeout=300)
        lin = service.persons()[LIN]
        assert {topics.discovery(PRESENCE, lin), topics.person_state(lin)} <= mosquitto.retained(
            broker, f"{topics.prefix}/#", f"{topics.discovery_prefix}/#"
        ).keys()
    finally:
        client.terminate()
        assert client.wait(timeout=60) == 0, log.read_text()
        subscriber.close()
        time.sleep(CLOSE_SECONDS + 0.2)
        service.frame(camera, blank_jpeg())  # its visits close: the next tests' people are where they left them
    assert mosquitto.retained(broker, topics.status)[topics.status] == b"offline"
    output = log.read_text()
    assert KEY not in output and MQTT_PASSWORD not in output and "Traceback" not in output, output


def test_the_broker_url_and_its_credentials():
    settings = MqttSettings.from_url("mqtts://broker.local", {"MQTT_USERNAME": "ha", "MQTT_PASSWORD": MQTT_PASSWORD})
    assert (settings.host, settings.port, settings.tls, settings.username) == ("broker.local", 8883, True, "ha")
    assert MQTT_PASSWORD not in repr(settings)
    assert MqttSettings.from_url("mqtt://10.0.0.5", {}).port == 1883
    for wrong in ("http://broker", "mqtt://", "mqtt://broker:port", "mqtt://broker/topic"):
        with pytest.raises(MqttSettingsError):
            MqttSettings.from_url(wrong, {})
    with pytest.raises(MqttSettingsError, match="MQTT_USERNAME") as refused:
        MqttSettings.from_url(f"mqtt://ha:{MQTT_PASSWORD}@broker", {})
    assert MQTT_PASSWORD not in str(refused.value)
    for prefix in ("facerec", "home/faces"):
        assert check_prefix(prefix) == prefix
    for prefix in ("", "a//b", "/facerec", "faces/#", "faces+"):
        with pytest.raises(ValueError):
            check_prefix(prefix)


def test_a_cursor_the_service_refuses_starts_again_from_today_s_first_event(service, frames, broker, tmp_path):
    bridge = Bridge(service, broker, tmp_path)
    bridge.state.write_text(json.dumps({"version": 1, "cursor": "not-a-cursor", "presence": {}}))
    subscriber = mosquitto.Subscriber(broker, bridge.topics.events)
    bridge.start()
    try:
        camera = f"porch-{uuid.uuid4().hex[:6]}"
        answers = service.visit(camera, [frames[i] for i in FRONTAL[:8]])
        ended(
            subscriber,
            bridge.topics.events,
            camera,
            {f["visitId"] for a in answers for f in a["faces"] if f["visitId"]},
        )
    finally:
        subscriber.close()
        bridge.stop()
    assert "refused the saved cursor" in bridge.log.read_text()


def test_visits_while_the_broker_is_down_reach_its_retained_states_once_it_is_back(service, frames, broker, bridge):
    topics = bridge.topics
    lin = service.persons()[LIN]
    wait_for(lambda: topics.person_state(lin) in bridge.retained())  # the bridge is up and has published
    broker.stop()
    camera = f"garden-{uuid.uuid4().hex[:6]}"
    try:
        answers = service.visit(camera, [frames[i] for i in FRONTAL[:8]])
    finally:
        broker.start()  # empty: no persistence; the bridge reconnects, publishes its states, then the new events
    (visit_id,) = {f["visitId"] for a in answers for f in a["faces"] if f["visitId"]}

    def caught_up() -> dict | None:
        retained = bridge.retained()
        state = json.loads(retained.get(topics.person_state(lin), b"{}"))
        return state if state.get("visitId") == visit_id and topics.camera_state(camera) in retained else None

    state = wait_for(caught_up)
    assert state["present"] is False and state["cameraId"] == camera
    assert json.loads(bridge.retained()[topics.camera_state(camera)])["count"] == 0


def test_a_camera_gone_silent_has_its_visit_ended_by_the_timer_on_mqtt(service, frames, broker, bridge):
    """No frame after the visit: the service's visit-closing timer (every 20 s) ends it, and the event follows."""
    subscriber = mosquitto.Subscriber(broker, bridge.topics.events)
    camera = f"gate-{uuid.uuid4().hex[:6]}"
    try:
        answers = [service.frame(camera, frames[i]) for i in FRONTAL[:8]]
        visits = {f["visitId"] for a in answers for f in a["faces"] if f["visitId"]}
        events = ended(subscriber, bridge.topics.events, camera, visits)
    finally:
        subscriber.close()
    assert all([e["type"] for e in sequence] == [STARTED, NAMED, ENDED] for sequence in events.values())


def test_an_unknown_visitor_named_by_a_user_becomes_a_person_with_its_visit(service, testdata, broker, bridge):
    """POST /api/visits/{id}/person with a new name: visit.named on MQTT, and Home Assistant gets the new person
    (enrolled by that very call) with the visit as where they were last seen, not present (the visit had ended)."""
    topics = bridge.topics
    subscriber = mosquitto.Subscriber(broker, topics.events)
    camera = f"hall-{uuid.uuid4().hex[:6]}"
    try:
        answers = service.visit(camera, still_camera((testdata / STRANGER).read_bytes()))
        (visit_id,) = {f["visitId"] for a in answers for f in a["faces"] if f["visitId"]}
        ended(subscriber, topics.events, camera, {visit_id})
        name = f"guest-{uuid.uuid4().hex[:6]}"
        named = service.call("POST", f"/api/visits/{visit_id}/person", json={"name": name, "train": False}).json()
        person = named["personId"]

        def renamed() -> list[dict] | None:
            events = visits_on(subscriber, topics.events, camera).get(visit_id, [])
            return events if events[-1]["type"] == NAMED and events[-1]["personId"] == person else None

        assert [e["type"] for e in wait_for(renamed)] == [STARTED, NAMED, ENDED, NAMED]
    finally:
        subscriber.close()
    entities = {topics.discovery(PRESENCE, person), topics.discovery(LAST_SEEN, person), topics.person_state(person)}
    retained = wait_for(lambda: entities <= (found := bridge.retained()).keys() and found)
    state = json.loads(retained[topics.person_state(person)])
    assert state["name"] == name and state["visitId"] == visit_id and state["present"] is False
    assert json.loads(retained[topics.discovery(PRESENCE, person)])["device"]["name"] == name
    service.call("DELETE", f"/face/v1.0/persongroups/{GROUP}/persons/{person}")  # the group as the module found it


def test_the_edge_client_refuses_a_wrong_broker_before_it_starts(capsys, caplog):
    from edge_client.cli import main as edge_client

    base = ["--headless", "--key", KEY, "--group", GROUP, "--source", "0"]
    assert edge_client([*base, "--mqtt", "http://broker"]) == 2
    assert edge_client([*base, "--mqtt", f"mqtt://ha:{MQTT_PASSWORD}@broker"]) == 2
    assert edge_client([*base, "--mqtt", "mqtt://broker", "--mqtt-prefix", "faces/#"]) == 2
    assert edge_client([*base, "--mqtt", "mqtt://broker", "--events-poll", "0"]) == 2
    output = capsys.readouterr()
    said = output.out + output.err + caplog.text
    assert "MQTT_USERNAME and MQTT_PASSWORD, not in the URL" in said and "faces/#" in said
    assert MQTT_PASSWORD not in said and KEY not in said
