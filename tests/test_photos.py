"""Which files are photos, and whose: the backend's folder, zip and blob scanners and the edge client's
own (it installs without the backend, so it has its own copy of the rule) must agree."""

from __future__ import annotations

import shutil
from pathlib import Path

from edge_client.enroll import find_photos
from edge_client.enroll import photos_by_person as edge_photos_by_person
from function_app.features.photos import photos_by_person, photos_in_blobs, photos_in_folder, photos_in_zip
from function_app.storage.local_folder import LocalFolderStorage

from .support.images import zip_of

# A folder as users make them: a sub-folder per person, the prototype's `<person><n>.jpg` names at the
# top, and what macOS, thumbnailers and editors leave behind.
TREE = (
    "bob/1.jpg",
    "bob/2.PNG",
    "alice1.jpg",
    "alice-2.jpg",
    "kit_harington_3.jpg",
    "__MACOSX/bob/._1.jpg",
    "__MACOSX/x.jpg",
    ".thumbs/t.jpg",
    "bob/.t.jpg",
    "._2.jpg",
    "bob/notes.txt",
)
PHOTOS = {
    "alice": ["alice-2.jpg", "alice1.jpg"],
    "bob": ["bob/1.jpg", "bob/2.PNG"],
    "kit_harington": ["kit_harington_3.jpg"],
}


def make_tree(testdata: Path, folder: Path) -> Path:
    photo = testdata / "people/obama/1.jpg"
    for relative in TREE:
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(photo, folder / relative)
    return folder


def by_person(photos) -> dict[str, list[str]]:
    return {person: [p.path for p in found] for person, found in photos_by_person(photos).items()}


def test_the_folder_scanner_finds_each_person_and_leaves_hidden_and_mac_files_out(testdata, tmp_path):
    assert by_person(photos_in_folder(make_tree(testdata, tmp_path))) == PHOTOS


def test_the_zip_and_blob_scanners_agree_with_the_folder_scanner(testdata, tmp_path):
    folder = make_tree(testdata, tmp_path / "photos")
    files = {relative: (folder / relative).read_bytes() for relative in TREE}
    assert by_person(photos_in_zip(zip_of(files))) == PHOTOS
    storage = LocalFolderStorage(tmp_path / "data")
    for relative, data in files.items():
        storage.put_blob("uploads", f"family/{relative}", data)
    assert by_person(photos_in_blobs(storage, "uploads", "family")) == PHOTOS


def test_the_edge_client_finds_the_same_photos_and_persons(testdata, tmp_path):
    photos = find_photos(make_tree(testdata, tmp_path))
    edge = {person: sorted(p.relative for p in found) for person, found in edge_photos_by_person(photos).items()}
    assert edge == {person: sorted(paths) for person, paths in PHOTOS.items()}
