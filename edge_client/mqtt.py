"""The MQTT connection (paho-mqtt): connects in its own network thread and reconnects by itself after the
broker goes away; announces itself `online` on the status topic, with `offline` as its last will. It keeps
every retained message it published and publishes them all again on each connection, and when Home
Assistant announces itself: a broker restarted without persistence gets back every state and discovery
config. The broker's user name and password come from the environment and are never logged."""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from .mqtt_topics import OFFLINE, ONLINE, Topics

log = logging.getLogger("edge_client")

USERNAME_VARIABLE, PASSWORD_VARIABLE = "MQTT_USERNAME", "MQTT_PASSWORD"
QOS = 1  # at least once: the broker acknowledges each message, and paho sends it again after a reconnection
KEEPALIVE = 30  # seconds: how soon a silent connection (and the broker's loss of this client) is noticed
RECONNECT_DELAYS = (1, 30)  # paho's reconnection backoff, seconds: first, longest


class MqttSettingsError(ValueError):
    pass


@dataclass(frozen=True)
class MqttSettings:
    host: str
    port: int = 1883
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_url(cls, url: str, environ: Mapping[str, str] | None = None) -> MqttSettings:
        """`mqtt://host[:port]` (1883) or `mqtts://host[:port]` (TLS, 8883); the credentials from MQTT_USERNAME
        and MQTT_PASSWORD, never from the URL (a command line is visible to every user of the machine)."""
        environ = os.environ if environ is None else environ
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise MqttSettingsError(f"Not an MQTT URL: {_without_credentials(url)}") from None
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname or parts.path not in ("", "/"):
            raise MqttSettingsError(f"The MQTT broker must be mqtt://host[:port] or mqtts://..., not {parts.scheme}:")
        if parts.username or parts.password:
            raise MqttSettingsError(
                f"Give the broker's user and password in {USERNAME_VARIABLE} and {PASSWORD_VARIABLE}, not in the URL."
            )
        tls = parts.scheme == "mqtts"
        return cls(
            parts.hostname,
            port or (8883 if tls else 1883),
            tls,
            environ.get(USERNAME_VARIABLE) or None,
            environ.get(PASSWORD_VARIABLE) or None,
        )

    def describe(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def _without_credentials(url: str) -> str:
    return url.split("@")[-1]


class MqttPublisher:
    def __init__(self, settings: MqttSettings, topics: Topics, client_id: str | None = None):
        self.settings = settings
        self.topics = topics
        self.connected = threading.Event()
        self.connections = 0  # successful connections so far (a reconnection counts)
        self._stopping = False
        self._retained: dict[str, bytes] = {}  # topic -> payload: what every (re)connection publishes again
        self._lock = threading.Lock()
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id or f"{topics.node}-{uuid.uuid4().hex[:8]}"
        )
        self._client.will_set(topics.status, OFFLINE, qos=QOS, retain=True)
        if settings.username:
            self._client.username_pw_set(settings.username, settings.password)
        if settings.tls:
            self._client.tls_set()
        self._client.reconnect_delay_set(*RECONNECT_DELAYS)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message

    def start(self) -> MqttPublisher:
        """Connect in the background (and keep reconnecting): nothing here waits for the broker."""
        self._client.connect_async(self.settings.host, self.settings.port, keepalive=KEEPALIVE)
        self._client.loop_start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Say `offline` (as the last will would) and disconnect."""
        if self.connected.is_set():
            info = self._client.publish(self.topics.status, OFFLINE, qos=QOS, retain=True)
            _wait(info, timeout)
        self._stopping = True
        self._client.disconnect()
        self._client.loop_stop()

    def publish(self, topic: str, payload: bytes) -> paho.MQTTMessageInfo:
        """Not retained. While disconnected the message waits in paho's queue and goes out on reconnection."""
        return self._client.publish(topic, payload, qos=QOS, retain=False)

    def retain(self, topic: str, payload: bytes | None) -> None:
        """Publish `payload` retained on `topic` (now if connected, else on connection) and keep it to publish again
        on every connection; None clears the topic (an empty retained message) and forgets it."""
        with self._lock:  # one order for a topic's messages: a republication never sends an older state after a newer
            if payload is None:
                self._retained.pop(topic, None)
            else:
                self._retained[topic] = payload
            if self.connected.is_set():
                self._client.publish(topic, payload or b"", qos=QOS, retain=True)

    def _republish(self) -> None:
        with self._lock:
            self._republish_locked()

    def _republish_locked(self) -> None:
        for topic, payload in self._retained.items():
            self._client.publish(topic, payload, qos=QOS, retain=True)

    def _on_connect(self, client: paho.Client, _userdata: Any, _flags: Any, reason: Any, _properties: Any) -> None:
        if reason.is_failure:
            log.warning("mqtt: %s refused the connection: %s", self.settings.describe(), reason)
            return
        self.connections += 1
        log.info("mqtt: connected to %s", self.settings.describe())
        client.publish(self.topics.status, ONLINE, qos=QOS, retain=True)
        client.subscribe(self.topics.home_assistant_status, qos=QOS)
        with self._lock:
            self.connected.set()
            self._republish_locked()

    def _on_disconnect(self, _client: paho.Client, _userdata: Any, _flags: Any, reason: Any, _properties: Any) -> None:
        if self.connected.is_set() and not self._stopping:
            log.warning("mqtt: lost %s (%s): reconnecting", self.settings.describe(), reason)
        self.connected.clear()

    def _on_message(self, _client: paho.Client, _userdata: Any, message: paho.MQTTMessage) -> None:
        if message.topic == self.topics.home_assistant_status and message.payload == ONLINE.encode():
            self._republish()  # Home Assistant (re)started: it asks for discovery this way


def _wait(info: paho.MQTTMessageInfo, timeout: float) -> bool:
    try:
        info.wait_for_publish(timeout)
    except (RuntimeError, ValueError):  # not queued, or the connection went away meanwhile
        return False
    return info.is_published()
