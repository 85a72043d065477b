"""The service's visit events to an MQTT broker, from the edge side: a thread polls `GET /api/events` after its
saved cursor, publishes each event of its group on `<prefix>/events`, keeps each person's and camera's state
retained on their topics, and Home Assistant's discovery configs for the group's enrolled persons (read again
every `roster_seconds`; a person deleted loses its configs) and for each camera seen.

Why here and not in the service: a service deployed in Azure cannot reach a broker at home, whereas whatever
runs at home (the edge client next to the camera, or this bridge alone) reaches both the service and the
broker, whichever way the service is deployed. It runs on its own thread: the camera loop never waits for it.
Run one per group and prefix: two would publish each event twice."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .backend import BackendError, FaceBackend, RequestRefused
from .backoff import Backoff
from .bridge_state import BridgeState, default_state_path
from .event_feed import read_page
from .home_assistant import camera_configs, person_configs
from .mqtt import MqttPublisher, MqttSettings
from .mqtt_topics import DEFAULT_DISCOVERY_PREFIX, DEFAULT_PREFIX, Topics
from .presence import Changes, Presence
from .stopping import join

log = logging.getLogger("edge_client")

ACK_GRACE = 5.0  # seconds a stop still waits for the broker to acknowledge the page being published


@dataclass(frozen=True)
class BridgeSettings:
    endpoint: str
    key: str = field(repr=False)
    group: str
    mqtt: MqttSettings
    prefix: str = DEFAULT_PREFIX
    discovery_prefix: str = DEFAULT_DISCOVERY_PREFIX
    state_path: Path | None = None  # None: default_state_path(group, prefix)
    poll_seconds: float = 1.0  # between reads of the feed once it has nothing new
    roster_seconds: float = 300.0  # between reads of the group's persons
    page_size: int = 100

    @property
    def topics(self) -> Topics:
        return Topics(self.prefix, self.group, self.discovery_prefix)


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


class EventsBridge:
    def __init__(self, settings: BridgeSettings):
        self.settings = settings
        self.topics = settings.topics
        self.state_path = settings.state_path or default_state_path(settings.group, settings.prefix)
        self.state = BridgeState.load(self.state_path)
        self.backend = FaceBackend(settings.endpoint, settings.key)
        self.publisher = MqttPublisher(settings.mqtt, self.topics)
        self.published = 0  # events published (and acknowledged) by this run
        self.polls = 0  # reads of the feed that answered
        self.rosters = 0  # reads of the group's persons that answered
        self._stop = threading.Event()
        self._backoff = Backoff(initial=1.0, maximum=30.0)
        self._last_error = ""
        self._next_roster = 0.0
        self._thread = threading.Thread(target=self.run, name="events-bridge", daemon=True)

    @property
    def presence(self) -> Presence:
        return self.state.presence

    def start(self) -> EventsBridge:
        self._thread.start()
        return self

    def stop(self, timeout: float = 2 * ACK_GRACE + 5, hurry: threading.Event | None = None) -> None:
        """Finish the page being published (ACK_GRACE at most), say `offline`, disconnect; no waiting once `hurry`."""
        self._stop.set()
        if self._thread.is_alive():
            join(self._thread, timeout, hurry)

    def run(self) -> None:
        """Until stopped: wait for the broker, read the roster now and then and the feed, publish."""
        log.info(
            "events: group %s -> %s, topics %s/...",
            self.settings.group,
            self.settings.mqtt.describe(),
            self.topics.prefix,
        )
        self._publish_all_retained()
        self.publisher.start()
        try:
            while not self._stop.is_set():
                if not self.publisher.connected.wait(0.25):
                    continue  # the events wait in the service meanwhile
                try:
                    more = self._step()
                except BackendError as exc:
                    self._failed(str(exc))
                    continue
                except Exception as exc:  # a bug must not end the publishing for the rest of the run
                    self._failed(f"unexpected {type(exc).__name__}: {exc}")
                    continue
                self._recovered()
                if not more:
                    self._stop.wait(self.settings.poll_seconds)
        finally:
            self.publisher.stop()
            self.backend.close()

    def _step(self) -> bool:
        """Read the roster if due, then one page of the feed, and publish; whether more events may be waiting."""
        if time.monotonic() >= self._next_roster:
            self._read_roster()
        try:
            page = read_page(self.backend, self.state.cursor, self.settings.page_size)
        except RequestRefused as exc:
            if exc.code != "BadArgument" or self.state.cursor is None:
                raise
            # A cursor this service did not give (a state file from another service): today's events from the start.
            log.warning("events: the service refused the saved cursor; reading from today's first event")
            self.state.cursor = None
            return True
        self.polls += 1
        sent = []
        for event in page.events:
            if event.person_group_id == self.settings.group:
                sent.append(self.publisher.publish(self.topics.events, _json(event.raw)))
                self._publish_changes(self.presence.apply(event))
        if not self._acknowledged(sent):
            return False  # stopping: the cursor stays before these events, the next run publishes them again
        self.published += len(sent)
        if page.next != self.state.cursor or sent:
            self.state.cursor = page.next or self.state.cursor
            self.state.save(self.state_path)
        return page.full

    def _acknowledged(self, sent: list) -> bool:
        """Wait until the broker has acknowledged every message (paho sends them again after a reconnection). Asked
        to stop meanwhile, it still waits ACK_GRACE seconds: a clean stop saves the cursor past what it published."""
        deadline = None
        while not all(info.is_published() for info in sent):
            if self._stop.is_set():
                deadline = deadline or time.monotonic() + ACK_GRACE
                if time.monotonic() >= deadline:
                    return False
            time.sleep(0.02)
        return True

    def _read_roster(self) -> None:
        persons = self.backend.group_persons(self.settings.group)
        changed, removed = self.presence.set_roster({p["personId"]: p.get("name") or p["personId"] for p in persons})
        for person_id in removed:
            for topic in person_configs(self.topics, person_id, "").keys() | {self.topics.person_state(person_id)}:
                self.publisher.retain(topic, None)
        for person_id in changed:
            self._publish_person(person_id, with_discovery=True)
        self.rosters += 1
        self._next_roster = time.monotonic() + self.settings.roster_seconds

    def _publish_changes(self, changes: Changes) -> None:
        for person_id in changes.persons:
            self._publish_person(person_id, with_discovery=person_id in changes.unknown_persons)
        for camera_id in changes.cameras:
            self._publish_camera(camera_id, with_discovery=camera_id == changes.new_camera)
        if changes.unknown_persons:
            self._next_roster = 0.0  # someone enrolled since the roster was read: read it again now

    def _publish_person(self, person_id: str, with_discovery: bool) -> None:
        state = self.presence.persons.get(person_id)
        if state is None:
            return
        if with_discovery:
            for topic, config in person_configs(self.topics, person_id, state.name).items():
                self.publisher.retain(topic, _json(config))
        self.publisher.retain(self.topics.person_state(person_id), _json(state.to_dict()))

    def _publish_camera(self, camera_id: str, with_discovery: bool) -> None:
        if with_discovery:
            for topic, config in camera_configs(self.topics, camera_id).items():
                self.publisher.retain(topic, _json(config))
        self.publisher.retain(self.topics.camera_state(camera_id), _json(self.presence.camera(camera_id).to_dict()))

    def _publish_all_retained(self) -> None:
        """What the saved state knows, kept for the first connection: the broker may have lost it."""
        for person_id in list(self.presence.persons):
            self._publish_person(person_id, with_discovery=True)
        for camera_id in self.presence.cameras:
            self._publish_camera(camera_id, with_discovery=True)

    def _failed(self, reason: str) -> None:
        delay = self._backoff.next_delay()
        if reason != self._last_error:
            log.warning("events: %s; trying again (backing off up to %g s)", reason, self._backoff.maximum)
            self._last_error = reason
        self._stop.wait(delay)

    def _recovered(self) -> None:
        if self._last_error:
            log.warning("events: the service answers again")
        self._last_error = ""
        self._backoff.reset()
