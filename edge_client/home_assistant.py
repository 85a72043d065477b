"""Home Assistant's MQTT discovery configs: each enrolled person becomes a device with a presence
`binary_sensor` (on while one of their visits is open) and a `sensor` of when they were last seen; each
camera a device with a `sensor` of how many people are there now. Every entity reads the retained JSON
state topics, so Home Assistant shows the right state as soon as it subscribes, and is unavailable when
the publisher is gone (its last will on the status topic)."""

from __future__ import annotations

from typing import Any

from .mqtt_topics import OFFLINE, ONLINE, Topics

MANUFACTURER = "video-face-recognition"
ORIGIN = {"name": "video-face-recognition edge client"}
PRESENCE = "binary_sensor"
LAST_SEEN = "sensor"


def _entity(topics: Topics, unique_id: str, state_topic: str, device: dict[str, Any]) -> dict[str, Any]:
    """What every entity of this publisher has: its id, state and attributes topic, availability, device."""
    return {
        "unique_id": unique_id,
        "state_topic": state_topic,
        "json_attributes_topic": state_topic,
        "availability_topic": topics.status,
        "payload_available": ONLINE,
        "payload_not_available": OFFLINE,
        "qos": 1,
        "device": device,
        "origin": ORIGIN,
    }


def person_configs(topics: Topics, person_id: str, name: str) -> dict[str, dict[str, Any]]:
    """Discovery topic -> config of a person's two entities."""
    device = {
        "identifiers": [f"{topics.node}_{person_id}"],
        "name": name,
        "manufacturer": MANUFACTURER,
        "model": f"person of group {topics.group}",
    }
    state = topics.person_state(person_id)
    presence = _entity(topics, f"{topics.node}_{person_id}_presence", state, device) | {
        "name": "Presence",
        "device_class": "presence",
        "value_template": "{{ 'ON' if value_json.present else 'OFF' }}",
        "payload_on": "ON",
        "payload_off": "OFF",
    }
    last_seen = _entity(topics, f"{topics.node}_{person_id}_last_seen", state, device) | {
        "name": "Last seen",
        "device_class": "timestamp",
        # "None" is Home Assistant's payload for no value: a person not seen since the publisher began.
        "value_template": "{{ value_json.lastSeen if value_json.lastSeen else None }}",
    }
    return {topics.discovery(PRESENCE, person_id): presence, topics.discovery(LAST_SEEN, person_id): last_seen}


def camera_configs(topics: Topics, camera_id: str) -> dict[str, dict[str, Any]]:
    """Discovery topic -> config of a camera's entity: how many people it sees now (names in its attributes)."""
    device = {
        "identifiers": [f"{topics.node}_camera_{camera_id}"],
        "name": f"Camera {camera_id}",
        "manufacturer": MANUFACTURER,
        "model": "camera",
    }
    people = _entity(topics, f"{topics.node}_camera_{camera_id}_people", topics.camera_state(camera_id), device) | {
        "name": "People",
        "value_template": "{{ value_json.count }}",
        "state_class": "measurement",
        "unit_of_measurement": "people",
        "icon": "mdi:account-group",
    }
    return {topics.discovery(LAST_SEEN, f"camera_{camera_id}"): people}
