"""The service's metrics, through OpenTelemetry: frames, faces (named or Unknown), frame latency, queue depths,
poison messages, events published and webhook deliveries that failed. Read as Prometheus text at
`GET /api/metrics`, and, when APPLICATIONINSIGHTS_CONNECTION_STRING is set (the Bicep sets it), exported to
Application Insights every minute by Azure Monitor's OpenTelemetry exporter.

One meter provider per process, made on first use. Counters belong to the process: they start at zero when it
starts, which Prometheus expects of counters (its `rate()` sees the reset); each instance of a scaled-out app
is scraped, or exported, as its own series. Queue depths are read from storage when the metrics are collected
(a scrape, or the exporter's minute), never on the frame path."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from opentelemetry.metrics import Counter, Histogram, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from .errors import StorageUnavailable
from .settings import Settings
from .storage import Storage
from .storage.layout import WORK_QUEUES, poison_queue

log = logging.getLogger(__name__)

METER_NAME = "video_face_recognition"
PROMETHEUS_CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # the text format every Prometheus version scrapes
# Frame latency: a frame takes ~15 ms on the local engine when tracking spares identification, ~45 ms when
# every face is identified, a few hundred on the Azure engine (two calls); past 10 s something is wrong.
LATENCY_BUCKETS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
QUEUE_READ_SECONDS = 1.0  # the depth and poison gauges of one collection share one read of the queues
ANSWERED = "answered"  # a frame's `result` when it was answered; otherwise the error code it was answered with


@dataclass(frozen=True)
class _Instruments:
    registry: CollectorRegistry  # what GET /api/metrics renders
    provider: MeterProvider
    frames: Counter
    faces: Counter
    frame_latency: Histogram
    events_published: Counter
    webhook_failures: Counter


class _QueueLengths:
    """The app's queues and their poison twins, read at most once a QUEUE_READ_SECONDS from the storage a runtime
    named (watch_queues): both gauges of one collection share one read, and a storage that is down costs one
    timeout, not one per queue."""

    def __init__(self) -> None:
        self.storage: Storage | None = None
        self._lock = threading.Lock()
        self._read_at = 0.0
        self._lengths: dict[str, int] = {}

    def read(self) -> dict[str, int]:
        with self._lock:
            if self.storage is not None and time.monotonic() - self._read_at > QUEUE_READ_SECONDS:
                self._lengths = dict(self._lengths_now(self.storage))
                self._read_at = time.monotonic()
            return self._lengths

    @staticmethod
    def _lengths_now(storage: Storage) -> Iterator[tuple[str, int]]:
        try:
            for queue in WORK_QUEUES:
                for name in (queue, poison_queue(queue)):
                    yield name, storage.approximate_queue_length(name)
        except StorageUnavailable:
            log.warning("Queue lengths not read: the storage is unavailable")

    def observe(self, poison: bool) -> Iterable[Observation]:
        lengths = self.read()
        for queue in WORK_QUEUES:
            name = poison_queue(queue) if poison else queue
            if name in lengths:
                yield Observation(lengths[name], {"queue": queue})


_queues = _QueueLengths()
_made: _Instruments | None = None
_making = threading.Lock()


def _instruments() -> _Instruments:
    global _made
    made = _made
    if made is not None:  # every frame passes here: no lock once made
        return made
    with _making:
        if _made is None:
            _made = _make_instruments(Settings.from_env())
        return _made


def _make_instruments(settings: Settings) -> _Instruments:
    from opentelemetry.exporter.prometheus import PrometheusMetricReader

    registry = CollectorRegistry()
    ProcessCollector(registry=registry)  # the process's memory, CPU and open files, beside the app's own
    readers: list[MetricReader] = [
        PrometheusMetricReader(disable_target_info=True, scope_info_enabled=False, registry=registry)
    ]
    if settings.applicationinsights_connection_string:
        try:
            readers.append(_azure_monitor_reader(settings.applicationinsights_connection_string))
        except Exception:  # a bad connection string, say: the frames must still be answered, and scraped
            log.exception("Metrics are not exported to Application Insights")
    latency_buckets = View(
        instrument_name="frame_latency", aggregation=ExplicitBucketHistogramAggregation(LATENCY_BUCKETS)
    )
    provider = MeterProvider(metric_readers=readers, views=[latency_buckets])
    meter = provider.get_meter(METER_NAME)
    meter.create_observable_gauge(
        "queue_depth",
        callbacks=[lambda options: _queues.observe(poison=False)],
        unit="{message}",
        description="Messages waiting in each work queue (hidden ones, being worked on, included).",
    )
    meter.create_observable_gauge(
        "queue_poison_messages",
        callbacks=[lambda options: _queues.observe(poison=True)],
        unit="{message}",
        description="Messages in each work queue's poison twin: work given up after its retries.",
    )
    made = _Instruments(
        registry=registry,
        provider=provider,
        frames=meter.create_counter(
            "frames", unit="{frame}", description="Frames posted to /api/frames, by result (answered or error code)."
        ),
        faces=meter.create_counter(
            "faces", unit="{face}", description="Faces in answered frames, by identity: named or unknown."
        ),
        frame_latency=meter.create_histogram(
            "frame_latency", unit="s", description="Seconds from a frame's arrival to its answer (answered frames)."
        ),
        events_published=meter.create_counter(
            "events_published", unit="{event}", description="Visit events published, by kind."
        ),
        webhook_failures=meter.create_counter(
            "webhook_failures", unit="{delivery}", description="Webhook deliveries that failed, by reason."
        ),
    )
    # At zero from the start, so that a scrape sees the series (and rate() has a first point) before the first frame.
    made.frames.add(0, {"result": ANSWERED})
    for identity in ("named", "unknown"):
        made.faces.add(0, {"identity": identity})
    return made


def _azure_monitor_reader(connection_string: str) -> MetricReader:
    """Azure Monitor's exporter, every OTEL_METRIC_EXPORT_INTERVAL ms (60 s by default). It signs in as
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING says (the Bicep's: Microsoft Entra, the app's identity)."""
    from azure.monitor.opentelemetry.exporter import AzureMonitorMetricExporter

    return PeriodicExportingMetricReader(AzureMonitorMetricExporter(connection_string=connection_string))


def watch_queues(storage: Storage) -> None:
    """The storage whose queues the depth and poison gauges read (the runtime's)."""
    _queues.storage = storage


def frame_answered(seconds: float, named: int, unknown: int) -> None:
    """A frame answered after `seconds`, with its faces named and Unknown."""
    made = _instruments()
    made.frames.add(1, {"result": ANSWERED})
    made.frame_latency.record(seconds)
    if named:
        made.faces.add(named, {"identity": "named"})
    if unknown:
        made.faces.add(unknown, {"identity": "unknown"})


def frame_refused(code: str) -> None:
    """A frame answered with an error (its Face API error code: InvalidImage, StorageUnavailable, ...)."""
    _instruments().frames.add(1, {"result": code})


def event_published(kind: str) -> None:
    """A visit event published (`visit.started`, `visit.named`, `visit.ended`)."""
    _instruments().events_published.add(1, {"kind": kind})


def webhook_failed(reason: str) -> None:
    """A webhook delivery that failed: `reason` is a short, bounded word (`timeout`, `connection`, `status-500`,
    `dead-lettered`, ...), never a URL or a body, which may hold a secret."""
    _instruments().webhook_failures.add(1, {"reason": reason})


def prometheus_text() -> bytes:
    """Every metric, collected now, in Prometheus' text format (PROMETHEUS_CONTENT_TYPE)."""
    return generate_latest(_instruments().registry)


def flush(timeout_millis: float = 10_000) -> bool:
    """Export what the exporters hold now (Azure Monitor), e.g. before the process ends."""
    return _instruments().provider.force_flush(timeout_millis)


__all__ = [
    "PROMETHEUS_CONTENT_TYPE",
    "event_published",
    "flush",
    "frame_answered",
    "frame_refused",
    "prometheus_text",
    "watch_queues",
    "webhook_failed",
]
