"""Runs the app's queue-triggered functions from the storage queues as the Functions host does:
a message that fails is tried again after `visibilityTimeout`, and after `maxDequeueCount` tries
it moves to `<queue>-poison`. Timer functions run on their NCRONTAB schedules, as the host runs them
(`{second} {minute} {hour} {day} {month} {day-of-week}`, read by croniter), or all together every
`timer_period` seconds when one is given (tests)."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from azure.functions.decorators.function_app import Function
from azure.functions.decorators.queue import QueueTrigger
from azure.functions.decorators.timer import TimerTrigger
from azure.functions.queue import QueueMessage as TriggerMessage  # the host's type, with dequeue_count
from croniter import croniter

from ..storage import MessageNotFound, Storage
from ..storage.base import QueueMessage
from ..storage.layout import poison_queue
from .host_config import HostConfig

log = logging.getLogger("function_app.local_host")
# A received message stays hidden this long, and its lease is renewed every third of it while its function
# runs: a worker that dies (killed, power cut) leaves its message to be tried again within this time, and a
# long training never shows `running` long after nothing runs it. (The Functions host does the same with its
# own lease, 10 minutes after a host dies; it renews it too while the function runs.)
LEASE_SECONDS = 30


@dataclass(frozen=True)
class QueueFunction:
    queue: str
    function: Function


@dataclass(frozen=True)
class TimerFunction:
    schedule: str  # NCRONTAB, with seconds
    function: Function


class _Schedule:
    """When each timer is next due: on its schedule, or every `period` seconds from now."""

    def __init__(self, timers: list[TimerFunction], period: float | None):
        self.period = period
        now = datetime.now(UTC)
        self._next = {id(t): self._after(t, now) for t in timers}

    def _after(self, timer: TimerFunction, moment: datetime) -> datetime:
        if self.period is not None:
            return moment + timedelta(seconds=self.period)
        return croniter(timer.schedule, moment, second_at_beginning=True).get_next(datetime)

    def due(self, timer: TimerFunction) -> bool:
        now = datetime.now(UTC)
        if now < self._next[id(timer)]:
            return False
        self._next[id(timer)] = self._after(timer, now)
        return True


class QueueWorker:
    def __init__(
        self,
        functions: Iterable[Function],
        storage: Storage,
        config: HostConfig,
        poll_interval: float = 0.5,
        timer_period: float | None = None,
        lease_seconds: int = LEASE_SECONDS,
    ):
        self.storage = storage
        self.config = config
        self.poll_interval = poll_interval
        self.lease_seconds = lease_seconds
        self.timer_period = timer_period  # seconds from the start to the first run of all timers, and between runs
        self.queue_functions: list[QueueFunction] = []
        self.timer_functions: list[TimerFunction] = []
        for function in functions:
            trigger = function.get_trigger()
            if isinstance(trigger, QueueTrigger):
                self.queue_functions.append(QueueFunction(trigger.queue_name, function))
            elif isinstance(trigger, TimerTrigger):
                self.timer_functions.append(TimerFunction(trigger.schedule, function))
        self._stop = threading.Event()

    def run_once(self) -> int:
        """Handle the visible messages of every queue once; answer how many were handled."""
        handled = 0
        for entry in self.queue_functions:
            # One message a queue at a time: one received in a batch would wait out its lease behind the others.
            for message in self.storage.receive_messages(entry.queue, visibility_timeout=self.lease_seconds):
                self._handle(entry, message)
                handled += 1
        return handled

    def _handle(self, entry: QueueFunction, message: QueueMessage) -> None:
        name = entry.function.get_function_name()
        if message.dequeue_count > self.config.max_dequeue_count:
            # Received that often without an answer: each try ended the process (as the Functions host does).
            self._to_poison(entry.queue, message)
            return
        request = TriggerMessage(
            id=message.id,
            body=message.content.encode(),
            dequeue_count=message.dequeue_count,
            insertion_time=message.inserted_on,
            pop_receipt=message.pop_receipt,
        )
        with _Lease(self.storage, entry.queue, message, self.lease_seconds) as lease:
            try:
                entry.function.get_user_function()(request)
            except Exception:
                log.exception("%s failed on message %s (try %d)", name, message.id, message.dequeue_count)
                failed = True
            else:
                failed = False
        if failed:
            self._failed(entry.queue, lease.message)
            return
        with contextlib.suppress(MessageNotFound):  # handled twice after a lease ran out: harmless by design
            self.storage.delete_message(entry.queue, lease.message)

    def _failed(self, queue: str, message: QueueMessage) -> None:
        if message.dequeue_count >= self.config.max_dequeue_count:
            self._to_poison(queue, message)
            return
        with contextlib.suppress(MessageNotFound):  # its lease ran out: it is visible already
            self.storage.release_message(queue, message, visibility_timeout=round(self.config.visibility_timeout))

    def _to_poison(self, queue: str, message: QueueMessage) -> None:
        """Move the message to `<queue>-poison`, whose function marks its job or training failed."""
        self.storage.send_message(poison_queue(queue), message.content)
        with contextlib.suppress(MessageNotFound):
            self.storage.delete_message(queue, message)
        log.error("Message %s moved to %s after %d tries", message.id, poison_queue(queue), message.dequeue_count)

    def run_timers(self, due: Callable[[TimerFunction], bool] = lambda timer: True) -> None:
        for timer in self.timer_functions:
            if not due(timer):
                continue
            try:
                timer.function.get_user_function()(None)
            except Exception:
                log.exception("Timer function %s failed", timer.function.get_function_name())

    def run_forever(self) -> None:
        schedule = _Schedule(self.timer_functions, self.timer_period)
        while not self._stop.is_set():
            try:
                busy = self.run_once()
            except Exception:
                log.exception("Polling the queues failed; trying again")
                busy = 0
            self.run_timers(schedule.due)
            if not busy:
                self._stop.wait(self.poll_interval)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run_forever, name="queue-worker", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()


class _Lease:
    """Keeps a received message hidden while its function runs, renewing it every third of the lease from a
    thread; `message` is the message with its current pop receipt."""

    def __init__(self, storage: Storage, queue: str, message: QueueMessage, seconds: int):
        self.storage, self.queue, self.message, self.seconds = storage, queue, message, seconds
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._renew, name=f"lease-{message.id[:8]}", daemon=True)

    def __enter__(self) -> _Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _renew(self) -> None:
        while not self._done.wait(self.seconds / 3):
            try:
                self.message = self.storage.release_message(self.queue, self.message, visibility_timeout=self.seconds)
            except MessageNotFound:
                log.warning("Lost the lease of message %s: it may run twice (harmless by design)", self.message.id)
                return
            except Exception:  # storage briefly down: try again at the next renewal
                log.warning("Could not renew the lease of message %s", self.message.id, exc_info=True)
