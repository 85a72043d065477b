"""The publisher's memory between runs, one small JSON file: the feed's cursor and the presence it had built
from the events before it. Written whole to a temporary file and renamed (a crash leaves the old or the new
file, never half of one), and only once the broker has acknowledged what the events made: so a restart
neither publishes an event twice nor skips one (short of a crash between the two)."""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .presence import Presence

log = logging.getLogger("edge_client")

VERSION = 1


def default_state_path(group: str, prefix: str) -> Path:
    """Under the user's cache folder, one file per group and topic prefix."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "face-edge-client"
    name = re.sub(r"[^A-Za-z0-9_-]", "_", f"events-{group}-{prefix}") + ".json"
    path = (root / name).resolve()
    if path.parent != root.resolve():  # the name has no separator left; this only guards the rule above
        raise ValueError(f"{name!r} leaves {root}")
    return path


@dataclass
class BridgeState:
    cursor: str | None = None
    presence: Presence = field(default_factory=Presence)

    @classmethod
    def load(cls, path: Path) -> BridgeState:
        """The saved state, or a fresh one (no file yet, or one that cannot be read: said in the log)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") != VERSION:
                raise ValueError(f"version {data.get('version')!r}")
            return cls(data.get("cursor") or None, Presence.from_dict(data["presence"]))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("events: cannot read %s (%s): starting from today's first event", path, type(exc).__name__)
            return cls()

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"version": VERSION, "cursor": self.cursor, "presence": self.presence.to_dict()}
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(json.dumps(data), encoding="utf-8")
        os.replace(temporary, path)
