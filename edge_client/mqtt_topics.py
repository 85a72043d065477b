"""Every MQTT topic the publisher writes, from its prefix: the events, each person's and each camera's
retained state, its availability, and Home Assistant's discovery configs."""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_PREFIX = "facerec"
DEFAULT_DISCOVERY_PREFIX = "homeassistant"  # Home Assistant's default discovery prefix
ONLINE, OFFLINE = "online", "offline"  # Home Assistant's default availability payloads

# A topic level that Home Assistant accepts as a discovery node or object id.
_DISCOVERY_ID = re.compile(r"[^A-Za-z0-9_-]")
# What may not be inside one topic level: the separator, the wildcards, controls.
_NOT_A_LEVEL = re.compile(r"[/+#\x00-\x1f]")


def check_prefix(prefix: str) -> str:
    """A prefix of one or more topic levels, without wildcards or empty levels."""
    parts = prefix.split("/")
    if not all(parts) or any(_NOT_A_LEVEL.search(part) for part in parts):
        raise ValueError(f"{prefix!r} is not an MQTT topic prefix: non-empty levels without + # or controls")
    return prefix


def level(text: str) -> str:
    """`text` (an id the service sent) as one topic level: never a wildcard or a level of its own."""
    return _NOT_A_LEVEL.sub("_", text) or "_"


def discovery_id(text: str) -> str:
    """`text` as a discovery topic level: [A-Za-z0-9_-] only."""
    return _DISCOVERY_ID.sub("_", text)


@dataclass(frozen=True)
class Topics:
    prefix: str = DEFAULT_PREFIX
    group: str = ""
    discovery_prefix: str = DEFAULT_DISCOVERY_PREFIX

    @property
    def events(self) -> str:
        return f"{self.prefix}/events"

    @property
    def status(self) -> str:
        """The publisher's availability: `online` while connected, `offline` (its last will) otherwise."""
        return f"{self.prefix}/status"

    def person_state(self, person_id: str) -> str:
        return f"{self.prefix}/persons/{level(person_id)}/state"

    def camera_state(self, camera_id: str) -> str:
        return f"{self.prefix}/cameras/{level(camera_id)}/state"

    @property
    def node(self) -> str:
        """The discovery topics' node id: one per prefix and group, so two publishers never share configs."""
        return discovery_id(f"{self.prefix}_{self.group}")

    def discovery(self, component: str, object_id: str) -> str:
        return f"{self.discovery_prefix}/{component}/{self.node}/{discovery_id(object_id)}/config"

    @property
    def home_assistant_status(self) -> str:
        """Where Home Assistant announces itself (`online` after it starts): discovery is sent again then."""
        return f"{self.discovery_prefix}/status"
