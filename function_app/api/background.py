"""Queue-triggered functions for the slow work, and the timers that forget expired face ids, the faces of
Unknown visits past their retention, and the dated records past theirs."""

from __future__ import annotations

import azure.functions as func

from ..faceapi.local.face_ids import FaceIdStore
from ..faceapi.local.training import handle_poisoned_training_message, handle_training_message
from ..features.bulk_enrollment import handle_enrollment_message, handle_poisoned_enrollment_message
from ..retention import purge_old_records
from ..runtime import current_runtime
from ..storage.layout import ENROLL_QUEUE, TRAIN_QUEUE, UNKNOWN_VISITS_QUEUE, poison_queue
from ..visits.strangers import purge_strangers, remember_stranger

bp = func.Blueprint()
STORAGE_CONNECTION = "AzureWebJobsStorage"


@bp.function_name("train_worker")
@bp.queue_trigger(arg_name="msg", queue_name=TRAIN_QUEUE, connection=STORAGE_CONNECTION)
def train_worker(msg: func.QueueMessage) -> None:
    handle_training_message(current_runtime().face_api, msg.get_body())


@bp.function_name("enroll_worker")
@bp.queue_trigger(arg_name="msg", queue_name=ENROLL_QUEUE, connection=STORAGE_CONNECTION)
def enroll_worker(msg: func.QueueMessage) -> None:
    runtime = current_runtime()
    handle_enrollment_message(runtime.face_api, runtime.storage, msg.get_body())


@bp.function_name("unknown_visit_worker")
@bp.queue_trigger(arg_name="msg", queue_name=UNKNOWN_VISITS_QUEUE, connection=STORAGE_CONNECTION)
def unknown_visit_worker(msg: func.QueueMessage) -> None:
    runtime = current_runtime()
    remember_stranger(runtime.face_api, runtime.visits, msg.get_body())


# A message moved to its poison queue (by the host, after maxDequeueCount failed tries, or after as many
# deliveries that each ended the process) marks its training or job failed with the reason.
@bp.function_name("train_given_up")
@bp.queue_trigger(arg_name="msg", queue_name=poison_queue(TRAIN_QUEUE), connection=STORAGE_CONNECTION)
def train_given_up(msg: func.QueueMessage) -> None:
    handle_poisoned_training_message(current_runtime().face_api, msg.get_body())


@bp.function_name("enroll_given_up")
@bp.queue_trigger(arg_name="msg", queue_name=poison_queue(ENROLL_QUEUE), connection=STORAGE_CONNECTION)
def enroll_given_up(msg: func.QueueMessage) -> None:
    handle_poisoned_enrollment_message(current_runtime().storage, msg.get_body())


@bp.function_name("purge_expired_face_ids")
@bp.timer_trigger(arg_name="timer", schedule="0 17 * * * *", run_on_startup=False)
def purge_expired_face_ids(timer: func.TimerRequest) -> None:
    FaceIdStore(current_runtime().storage).purge_expired()


@bp.function_name("purge_unknown_visitors")
@bp.timer_trigger(arg_name="timer", schedule="0 40 3 * * *", run_on_startup=False)
def purge_unknown_visitors(timer: func.TimerRequest) -> None:
    runtime = current_runtime()
    purge_strangers(runtime.face_api, runtime.settings)


@bp.function_name("purge_old_records")
@bp.timer_trigger(arg_name="timer", schedule="0 10 3 * * *", run_on_startup=False)
def purge_old_records_daily(timer: func.TimerRequest) -> None:
    runtime = current_runtime()
    purge_old_records(runtime.storage, runtime.settings, runtime.visits.index)
