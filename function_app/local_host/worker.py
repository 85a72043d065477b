"""Runs the app's queue-triggered functions from the storage queues as the Functions host does:
a message that fails is tried again after `visibilityTimeout`, and after `maxDequeueCount` tries
it moves to `<queue>-poison`. Timer functions run once an hour."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from azure.functions.decorators.function_app import Function
from azure.functions.decorators.queue import QueueTrigger
from azure.functions.decorators.timer import TimerTrigger
from azure.functions.queue import QueueMessage as TriggerMessage  # the host's type, with dequeue_count

from ..storage import MessageNotFound, Storage
from ..storage.base import QueueMessage
from ..storage.layout import poison_queue
from .host_config import HostConfig

log = logging.getLogger("function_app.local_host")
TIMER_PERIOD = 3600.0
# While a function runs its message stays hidden this long; then it is tried again.
LEASE_SECONDS = 600


@dataclass(frozen=True)
class QueueFunction:
    queue: str
    function: Function


class QueueWorker:
    def __init__(
        self,
        functions: Iterable[Function],
        storage: Storage,
        config: HostConfig,
        poll_interval: float = 0.5,
        timer_period: float = TIMER_PERIOD,
    ):
        self.storage = storage
        self.config = config
        self.poll_interval = poll_interval
        self.timer_period = timer_period  # seconds from the start to the first run of the timers, and between runs
        self.queue_functions: list[QueueFunction] = []
        self.timer_functions: list[Function] = []
        for function in functions:
            trigger = function.get_trigger()
            if isinstance(trigger, QueueTrigger):
                self.queue_functions.append(QueueFunction(trigger.queue_name, function))
            elif isinstance(trigger, TimerTrigger):
                self.timer_functions.append(function)
        self._stop = threading.Event()

    def run_once(self) -> int:
        """Handle the visible messages of every queue once; answer how many were handled."""
        handled = 0
        for entry in self.queue_functions:
            messages = self.storage.receive_messages(
                entry.queue, max_messages=self.config.batch_size, visibility_timeout=LEASE_SECONDS
            )
            for message in messages:
                self._handle(entry, message)
                handled += 1
        return handled

    def _handle(self, entry: QueueFunction, message: QueueMessage) -> None:
        name = entry.function.get_function_name()
        request = TriggerMessage(
            id=message.id,
            body=message.content.encode(),
            dequeue_count=message.dequeue_count,
            insertion_time=message.inserted_on,
            pop_receipt=message.pop_receipt,
        )
        try:
            entry.function.get_user_function()(request)
        except Exception:
            log.exception("%s failed on message %s (try %d)", name, message.id, message.dequeue_count)
            self._failed(entry.queue, message)
            return
        with contextlib.suppress(MessageNotFound):  # handled twice after a lease ran out: harmless by design
            self.storage.delete_message(entry.queue, message)

    def _failed(self, queue: str, message: QueueMessage) -> None:
        if message.dequeue_count >= self.config.max_dequeue_count:
            self.storage.send_message(poison_queue(queue), message.content)
            self.storage.delete_message(queue, message)
            log.error("Message %s moved to %s after %d tries", message.id, poison_queue(queue), message.dequeue_count)
            return
        with contextlib.suppress(MessageNotFound):  # its lease ran out: it is visible already
            self.storage.release_message(queue, message, visibility_timeout=round(self.config.visibility_timeout))

    def run_timers(self) -> None:
        for function in self.timer_functions:
            try:
                function.get_user_function()(None)
            except Exception:
                log.exception("Timer function %s failed", function.get_function_name())

    def run_forever(self) -> None:
        next_timers = time.monotonic() + self.timer_period
        while not self._stop.is_set():
            try:
                busy = self.run_once()
            except Exception:
                log.exception("Polling the queues failed; trying again")
                busy = 0
            if time.monotonic() >= next_timers:
                self.run_timers()
                next_timers = time.monotonic() + self.timer_period
            if not busy:
                self._stop.wait(self.poll_interval)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run_forever, name="queue-worker", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()
