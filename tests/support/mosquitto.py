"""A real Mosquitto broker on a free loopback port, without persistence (a restart forgets every retained message,
as a broker without a persistence file does), and a real paho subscriber that records what it receives."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from .azurite import free_port
from .waiting import wait_for

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def installed() -> bool:
    return Path(MOSQUITTO).is_file()


class Broker:
    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.config = folder / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n"
        )
        self.process: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.folder / "mosquitto.log", "ab") as log:
            self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.config)], stdout=log, stderr=subprocess.STDOUT)
        wait_for(self._answers, timeout=30)

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def restart(self) -> None:
        """Stop and start on the same port: every retained message is gone (no persistence)."""
        self.stop()
        self.start()

    def _answers(self) -> bool:
        assert self.process is not None and self.process.poll() is None, (self.folder / "mosquitto.log").read_text()
        client = paho.Client(CallbackAPIVersion.VERSION2)
        try:
            client.connect("127.0.0.1", self.port, keepalive=5)
        except OSError:
            return False
        client.disconnect()
        return True


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    retain: bool
    received: float = 0.0  # time.time() when it came: for the benchmark's delays, never asserted

    def json(self) -> Any:
        return json.loads(self.payload)


class Subscriber:
    """A paho client subscribed to `topics` from its connection on; `messages` in the order received."""

    def __init__(self, broker: Broker, *topics: str):
        self.messages: list[Message] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"test-{uuid.uuid4().hex[:8]}")
        self._client.on_message = self._on_message
        self._client.on_subscribe = lambda *_: self._subscribed.set()
        self._client.connect("127.0.0.1", broker.port, keepalive=30)
        self._client.subscribe([(topic, 1) for topic in topics])
        self._client.loop_start()
        assert self._subscribed.wait(30)

    def _on_message(self, _client: paho.Client, _userdata: Any, message: paho.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(Message(message.topic, bytes(message.payload), bool(message.retain), time.time()))

    def on(self, topic: str) -> list[Message]:
        with self._lock:
            return [m for m in self.messages if m.topic == topic]

    def latest(self) -> dict[str, bytes]:
        """Each topic's last payload (a retained state as it stands)."""
        with self._lock:
            return {m.topic: m.payload for m in self.messages}

    def publish(self, topic: str, payload: bytes) -> None:
        self._client.publish(topic, payload, qos=1).wait_for_publish(30)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def retained(broker: Broker, *topics: str) -> dict[str, bytes]:
    """The retained messages the broker holds under `topics` now: what a client that subscribes gets at once.
    The broker sends them in answer to the subscription, ahead of anything published after it: so once a marker
    published after the subscription is back, they are all in."""
    marker = f"test-marker/{uuid.uuid4().hex}"
    subscriber = Subscriber(broker, *topics, marker)
    try:
        subscriber.publish(marker, b"end")
        wait_for(lambda: subscriber.on(marker), timeout=30)
        return {m.topic: m.payload for m in subscriber.messages if m.retain and m.payload}
    finally:
        subscriber.close()
