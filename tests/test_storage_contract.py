"""One contract, run against the local folder, against Azurite with a connection string, and against Azurite
over HTTPS with bearer tokens (the way the app reaches Azure Storage with its managed identity)."""

from __future__ import annotations

import threading
import time

import pytest

from function_app.storage import AppendBlobFull, BlobNotFound, MessageNotFound, PreconditionFailed
from function_app.storage.azure_storage import AzureStorage
from function_app.storage.local_folder import LocalFolderStorage
from function_app.storage.names import InvalidBlobName

from .support.azurite import FakeEntraCredential


@pytest.fixture(params=["local", "azurite", "azurite-identity"])
def storage(request, tmp_path):
    if request.param == "local":
        return LocalFolderStorage(tmp_path / "data")
    if request.param == "azurite":
        return AzureStorage(request.getfixturevalue("azurite_connection_string"))
    endpoints, certificate, _ = request.getfixturevalue("azurite_oauth")
    return AzureStorage(endpoints=endpoints, credential=FakeEntraCredential(), connection_verify=str(certificate))


def test_put_get_round_trip_and_etag_changes(storage, unique_name):
    first = storage.put_blob(unique_name, "a/b/one.json", b'{"v": 1}')
    blob = storage.get_blob(unique_name, "a/b/one.json")
    assert blob.data == b'{"v": 1}'
    assert blob.etag == first
    second = storage.put_blob(unique_name, "a/b/one.json", b'{"v": 2}')
    assert second != first
    assert storage.get_blob(unique_name, "a/b/one.json").data == b'{"v": 2}'


def test_every_version_gets_a_new_etag_even_in_quick_succession(storage, unique_name):
    etags = [storage.put_blob(unique_name, "v", b"%02d" % (i % 2)) for i in range(40)]  # same size, ABAB
    assert len(set(etags)) == 40
    assert storage.get_blob(unique_name, "v").etag == etags[-1]


def test_get_missing_blob_raises(storage, unique_name):
    with pytest.raises(BlobNotFound):
        storage.get_blob(unique_name, "nope.json")


def test_list_by_prefix_in_name_order(storage, unique_name):
    for name in ["g1/persons/b.json", "g1/persons/a.json", "g1/group.json", "g2/group.json", "g10/group.json"]:
        storage.put_blob(unique_name, name, name.encode())
    assert [b.name for b in storage.list_blobs(unique_name, "g1/")] == [
        "g1/group.json",
        "g1/persons/a.json",
        "g1/persons/b.json",
    ]
    assert [b.name for b in storage.list_blobs(unique_name, "g1/persons/a")] == ["g1/persons/a.json"]
    everything = list(storage.list_blobs(unique_name))
    assert len(everything) == 5
    assert {b.size for b in everything if b.name == "g2/group.json"} == {len(b"g2/group.json")}


def test_list_of_empty_container_is_empty(storage, unique_name):
    assert list(storage.list_blobs(unique_name, "x/")) == []


def test_delete(storage, unique_name):
    storage.put_blob(unique_name, "x/y.bin", b"\x00\x01")
    assert storage.delete_blob(unique_name, "x/y.bin") is True
    assert storage.delete_blob(unique_name, "x/y.bin") is False
    with pytest.raises(BlobNotFound):
        storage.get_blob(unique_name, "x/y.bin")
    assert list(storage.list_blobs(unique_name, "x/")) == []


def test_only_if_new(storage, unique_name):
    storage.put_blob(unique_name, "group.json", b"first", only_if_new=True)
    with pytest.raises(PreconditionFailed):
        storage.put_blob(unique_name, "group.json", b"second", only_if_new=True)
    assert storage.get_blob(unique_name, "group.json").data == b"first"


def test_if_match_write_and_delete(storage, unique_name):
    etag = storage.put_blob(unique_name, "status.json", b"1")
    newer = storage.put_blob(unique_name, "status.json", b"2", if_match=etag)
    with pytest.raises(PreconditionFailed):
        storage.put_blob(unique_name, "status.json", b"3", if_match=etag)
    assert storage.get_blob(unique_name, "status.json").data == b"2"
    with pytest.raises(PreconditionFailed):
        storage.delete_blob(unique_name, "status.json", if_match=etag)
    assert storage.delete_blob(unique_name, "status.json", if_match=newer) is True
    with pytest.raises(PreconditionFailed):
        storage.put_blob(unique_name, "status.json", b"4", if_match=newer)


def _increment(storage, container: str, times: int) -> None:
    """Read-modify-write with the ETag, retried on conflict: no increment may be lost."""
    for _ in range(times):
        while True:
            blob = storage.get_blob(container, "counter")
            try:
                storage.put_blob(container, "counter", str(int(blob.data) + 1).encode(), if_match=blob.etag)
                break
            except PreconditionFailed:
                continue


def test_concurrent_conditional_increments_lose_nothing(storage, unique_name):
    storage.put_blob(unique_name, "counter", b"0")
    threads = [threading.Thread(target=_increment, args=(storage, unique_name, 5)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert storage.get_blob(unique_name, "counter").data == b"20"


def test_queue_send_receive_delete(storage, unique_name):
    storage.send_message(unique_name, '{"groupId": "family"}')
    storage.send_message(unique_name, "second")
    [first] = storage.receive_messages(unique_name, visibility_timeout=30)
    assert first.content == '{"groupId": "family"}'
    assert first.dequeue_count == 1
    [second] = storage.receive_messages(unique_name, visibility_timeout=30)
    assert second.content == "second"
    assert storage.receive_messages(unique_name) == []  # both are invisible now
    storage.delete_message(unique_name, first)
    storage.delete_message(unique_name, second)
    with pytest.raises(MessageNotFound):
        storage.delete_message(unique_name, first)


def test_queue_visibility_timeout_returns_message_with_higher_dequeue_count(storage, unique_name):
    storage.send_message(unique_name, "retry me")
    [first] = storage.receive_messages(unique_name, visibility_timeout=1)
    assert storage.receive_messages(unique_name, visibility_timeout=1) == []
    time.sleep(1.6)
    [again] = storage.receive_messages(unique_name, visibility_timeout=30)
    assert again.id == first.id
    assert again.dequeue_count == 2
    with pytest.raises(MessageNotFound):
        storage.delete_message(unique_name, first)  # stale pop receipt
    storage.delete_message(unique_name, again)


def test_released_message_comes_back_after_the_delay_with_its_dequeue_count(storage, unique_name):
    storage.send_message(unique_name, "failed once")
    [first] = storage.receive_messages(unique_name, visibility_timeout=600)
    storage.release_message(unique_name, first, visibility_timeout=1)
    assert storage.receive_messages(unique_name) == []
    with pytest.raises(MessageNotFound):
        storage.release_message(unique_name, first)  # its pop receipt changed on release
    time.sleep(1.6)
    [again] = storage.receive_messages(unique_name, visibility_timeout=30)
    assert (again.id, again.dequeue_count) == (first.id, 2)
    storage.delete_message(unique_name, again)


def test_queue_receive_several_and_delay(storage, unique_name):
    for i in range(3):
        storage.send_message(unique_name, f"m{i}")
    storage.send_message(unique_name, "later", visibility_delay=60)
    got = storage.receive_messages(unique_name, max_messages=10)
    assert sorted(m.content for m in got) == ["m0", "m1", "m2"]


def test_approximate_queue_length_counts_hidden_and_delayed_messages_too(storage, unique_name):
    assert storage.approximate_queue_length(unique_name) == 0  # a queue never used holds nothing
    for i in range(3):
        storage.send_message(unique_name, f"m{i}")
    storage.send_message(unique_name, "later", visibility_delay=60)
    [received] = storage.receive_messages(unique_name, visibility_timeout=60)
    assert storage.approximate_queue_length(unique_name) == 4  # as Azure counts: hidden ones are still there
    storage.delete_message(unique_name, received)
    assert storage.approximate_queue_length(unique_name) == 3


def test_unicode_message_round_trips(storage, unique_name):
    storage.send_message(unique_name, '{"name": "José Ñúñez 😀"}')
    [message] = storage.receive_messages(unique_name)
    assert message.content == '{"name": "José Ñúñez 😀"}'


def test_concurrent_receivers_never_get_the_same_message(storage, unique_name):
    for i in range(12):
        storage.send_message(unique_name, f"job-{i}")
    got: list[str] = []
    lock = threading.Lock()

    def drain():
        while True:
            batch = storage.receive_messages(unique_name, max_messages=2, visibility_timeout=60)
            if not batch:
                return
            with lock:
                got.extend(m.content for m in batch)
            for m in batch:
                storage.delete_message(unique_name, m)

    threads = [threading.Thread(target=drain) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == sorted(f"job-{i}" for i in range(12))


def _increment_in_another_process(root: str, container: str, times: int) -> None:
    from function_app.storage.local_folder import LocalFolderStorage

    _increment(LocalFolderStorage(root), container, times)


def test_local_folder_is_safe_across_processes(tmp_path):
    from concurrent.futures import ProcessPoolExecutor

    from function_app.storage.local_folder import LocalFolderStorage

    LocalFolderStorage(tmp_path).put_blob("c", "counter", b"0")
    with ProcessPoolExecutor(max_workers=3) as pool:
        list(pool.map(_increment_in_another_process, [str(tmp_path)] * 3, ["c"] * 3, [20] * 3))
    assert LocalFolderStorage(tmp_path).get_blob("c", "counter").data == b"60"


def test_append_blob_grows_and_its_tail_reads_from_an_offset(storage, unique_name):
    storage.append_blob(unique_name, "log/00.log", b"first-")
    storage.append_blob(unique_name, "log/00.log", b"second")
    assert storage.get_blob(unique_name, "log/00.log").data == b"first-second"
    assert storage.read_blob_from(unique_name, "log/00.log", 6) == b"second"
    assert storage.read_blob_from(unique_name, "log/00.log", 12) == b""
    assert [b.size for b in storage.list_blobs(unique_name, "log/")] == [12]
    with pytest.raises(BlobNotFound):
        storage.read_blob_from(unique_name, "log/missing.log", 0)


def test_a_listed_etag_is_the_one_put_and_get_answer(storage, unique_name):
    etag = storage.put_blob(unique_name, "one.bin", b"1")
    listed = [b.etag for b in storage.list_blobs(unique_name)]
    assert listed == [etag] == [storage.get_blob(unique_name, "one.bin").etag]


# -- appends (the per-frame records: one JSON line per frame, features/sightings.py) ----------------
def test_append_creates_the_blob_then_adds_at_its_end(storage, unique_name):
    assert storage.append_blob(unique_name, "day/cam/09.jsonl", b'{"n":1}\n') == 0
    assert storage.append_blob(unique_name, "day/cam/09.jsonl", b'{"n":2}\n') == 8
    blob = storage.get_blob(unique_name, "day/cam/09.jsonl")
    assert blob.data == b'{"n":1}\n{"n":2}\n'
    assert [b.name for b in storage.list_blobs(unique_name, "day/")] == ["day/cam/09.jsonl"]
    storage.append_blob(unique_name, "day/cam/09.jsonl", b'{"n":3}\n')
    assert storage.get_blob(unique_name, "day/cam/09.jsonl").etag != blob.etag


def test_append_refuses_names_outside_the_container(storage, unique_name):
    for name in ("../escape.jsonl", "/abs.jsonl", "a/../../b.jsonl", "line\n.jsonl"):
        with pytest.raises(InvalidBlobName):
            storage.append_blob(unique_name, name, b"x\n")


def _append_lines(storage, container: str, writer: int, lines: int) -> list[int]:
    # Lines of different lengths, some longer than a pipe's atomic write, so that a split would show.
    return [
        storage.append_blob(container, "h.jsonl", f"{writer}:{i}:{'x' * (i * 997 % 9000)}\n".encode())
        for i in range(lines)
    ]


def _assert_whole_lines(data: bytes, writers: int, lines: int) -> None:
    found = data.decode().splitlines()
    assert len(found) == writers * lines
    parsed = [line.split(":") for line in found]
    assert all(tail == "x" * (int(i) * 997 % 9000) for _, i, tail in parsed)  # no line split or mixed
    assert sorted((int(w), int(i)) for w, i, _ in parsed) == [(w, i) for w in range(writers) for i in range(lines)]


def test_concurrent_appends_never_split_or_lose_a_line(storage, unique_name):
    offsets: list[int] = []
    threads = [
        threading.Thread(target=lambda w=w: offsets.extend(_append_lines(storage, unique_name, w, 25)))
        for w in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    data = storage.get_blob(unique_name, "h.jsonl").data
    _assert_whole_lines(data, 6, 25)
    # Each append answered where its line starts.
    assert sorted(offsets) == [0] + [i + 1 for i, byte in enumerate(data[:-1]) if byte == ord("\n")]


def _append_in_another_process(root: str, container: str, writer: int, lines: int) -> list[int]:
    return _append_lines(LocalFolderStorage(root), container, writer, lines)


def test_local_folder_appends_are_whole_across_processes(tmp_path):
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=3) as pool:
        list(pool.map(_append_in_another_process, [str(tmp_path)] * 3, ["c"] * 3, range(3), [40] * 3))
    _assert_whole_lines(LocalFolderStorage(tmp_path).get_blob("c", "h.jsonl").data, 3, 40)


def test_an_append_past_the_size_asked_is_refused_and_changes_nothing(storage, unique_name):
    assert storage.append_blob(unique_name, "h.jsonl", b"12345\n", max_size=10) == 0
    with pytest.raises(AppendBlobFull):
        storage.append_blob(unique_name, "h.jsonl", b"67890\n", max_size=10)
    assert storage.append_blob(unique_name, "h.jsonl", b"abc\n", max_size=10) == 6
    assert storage.get_blob(unique_name, "h.jsonl").data == b"12345\nabc\n"
