"""`python -m edge_client.bridge --service URL --group ID --mqtt mqtt://host:port`: the service's visit events to
an MQTT broker and Home Assistant, without a camera, for homes whose camera posts its frames from elsewhere.
The service's key comes from FACE_API_KEY, the broker's user and password from MQTT_USERNAME and
MQTT_PASSWORD; none is ever printed. The MQTT flags are the edge client's too (`--mqtt`)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .events_bridge import BridgeSettings, EventsBridge
from .mqtt import MqttSettings, MqttSettingsError
from .mqtt_topics import DEFAULT_DISCOVERY_PREFIX, DEFAULT_PREFIX, check_prefix
from .settings import DEFAULT_ENDPOINT, BackendSettings, SettingsError, from_environment
from .stopping import EXIT_INTERRUPTED, StopRequest

log = logging.getLogger("edge_client")


def add_mqtt_flags(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument(
        "--mqtt",
        required=required,
        default=None,
        metavar="URL",
        help="publish the group's visit events to this broker, mqtt://host[:port] or mqtts://... "
        "(user and password from $MQTT_USERNAME and $MQTT_PASSWORD)",
    )
    parser.add_argument("--mqtt-prefix", default=DEFAULT_PREFIX, help=f"topic prefix (default {DEFAULT_PREFIX})")
    parser.add_argument(
        "--mqtt-discovery-prefix",
        default=DEFAULT_DISCOVERY_PREFIX,
        help=f"Home Assistant's discovery prefix (default {DEFAULT_DISCOVERY_PREFIX})",
    )
    parser.add_argument(
        "--mqtt-state",
        type=Path,
        default=None,
        help="file keeping the events' cursor and the presence between runs "
        "(default: ~/.cache/face-edge-client/events-<group>-<prefix>.json)",
    )
    parser.add_argument(
        "--events-poll", type=float, default=1.0, help="seconds between reads of the event feed (default 1)"
    )
    parser.add_argument(
        "--roster-refresh",
        type=float,
        default=300.0,
        help="seconds between reads of the group's persons, for Home Assistant's discovery (default 300)",
    )


def bridge_settings(args: argparse.Namespace, backend: BackendSettings) -> BridgeSettings:
    if args.events_poll <= 0 or args.roster_refresh <= 0:
        raise SettingsError("--events-poll and --roster-refresh must be positive.")
    try:
        mqtt = MqttSettings.from_url(args.mqtt)
        prefix, discovery = check_prefix(args.mqtt_prefix), check_prefix(args.mqtt_discovery_prefix)
    except (MqttSettingsError, ValueError) as exc:
        raise SettingsError(str(exc)) from None
    if args.mqtt_state and not args.mqtt_state.parent.is_dir():
        raise SettingsError(f"Cannot write {args.mqtt_state}: no folder {args.mqtt_state.parent}.")
    return BridgeSettings(
        backend.endpoint,
        backend.key,
        backend.group,
        mqtt,
        prefix,
        discovery,
        args.mqtt_state,
        args.events_poll,
        args.roster_refresh,
    )


def parser() -> argparse.ArgumentParser:
    made = argparse.ArgumentParser(
        prog="edge_client.bridge",
        description="Publish a group's visit events to an MQTT broker, with Home Assistant discovery. "
        "The service's key comes from $FACE_API_KEY.",
    )
    made.add_argument(
        "--service", default=None, help=f"the service's base URL; default $FACE_ENDPOINT or {DEFAULT_ENDPOINT}"
    )
    made.add_argument("--group", default=None, help="the person group; default $FACE_GROUP")
    add_mqtt_flags(made, required=True)
    made.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors on stderr")
    return made


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        format="edge_client.bridge: %(message)s",
        level=logging.WARNING if args.quiet else logging.INFO,
        stream=sys.stderr,
    )
    try:
        backend = BackendSettings(
            args.service or from_environment("endpoint", DEFAULT_ENDPOINT),
            from_environment("key"),
            args.group or from_environment("group"),
        )
        backend.check()
        settings = bridge_settings(args, backend)
    except SettingsError as exc:
        log.error("%s", exc)
        return 2
    stopping = StopRequest().install()
    bridge = EventsBridge(settings).start()
    while not stopping.stop.wait(0.5):  # a timed wait: the signal handler runs in this thread between waits
        pass
    bridge.stop(hurry=stopping.hurry)
    return EXIT_INTERRUPTED if stopping.hurry.is_set() else 0


if __name__ == "__main__":
    sys.exit(main())
