"""Photos to enroll, from a folder, a zip file or a blob prefix: one person per sub-folder, or per
`<person><n>.jpg` file name as the prototype named its photos."""

from __future__ import annotations

import functools
import io
import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..errors import BadArgument, InvalidImage, InvalidImageSize
from ..storage import Storage

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif"}
# A zip entry is read only up to this (the Face API's largest image): a few kilobytes of zip can
# declare, or secretly hold, gigabytes.
MAX_PHOTO_BYTES = 6 * 1024 * 1024
# The most files one bulk enrollment looks at (in a zip, or under a blob prefix): listing stops there.
MAX_PHOTOS = 10_000
_CHUNK = 256 * 1024
_TRAILING_NUMBER = re.compile(r"^(.*?)[\s_-]*\d*$")


@dataclass(frozen=True)
class Photo:
    path: str  # relative, '/'-separated: 'obama/1.jpg' or 'obama2.jpg'
    read: Callable[[], bytes] = field(compare=False, repr=False)

    @property
    def file_name(self) -> str:
        return PurePosixPath(self.path).name

    @property
    def person(self) -> str:
        """The folder holding the photo names the person; a photo at the top is named by its file
        name: 'obama2.jpg' -> 'obama', 'kit_harington-1.png' -> 'kit_harington'."""
        parts = PurePosixPath(self.path)
        if len(parts.parts) > 1:
            return parts.parts[-2]
        match = _TRAILING_NUMBER.match(parts.stem)  # matches any stem without a line break
        return (match.group(1) if match else "") or parts.stem


def is_photo(path: str) -> bool:
    """A photo file, unless a part of its relative path is hidden (`.thumbs/`, `._x.jpg`) or a macOS
    zip's `__MACOSX/` (the edge client's scanner follows the same rule; a test checks both agree)."""
    name = PurePosixPath(path)
    hidden = any(part.startswith((".", "__MACOSX")) for part in name.parts)
    return not hidden and name.suffix.lower() in PHOTO_SUFFIXES


def photos_by_person(photos: Iterable[Photo]) -> dict[str, list[Photo]]:
    people: dict[str, list[Photo]] = {}
    for photo in sorted(photos, key=lambda p: p.path):
        people.setdefault(photo.person, []).append(photo)
    return people


def photos_in_folder(folder: Path) -> list[Photo]:
    """Photos directly in `folder` and in its sub-folders (one level: a sub-folder per person)."""
    if not folder.is_dir():
        raise FileNotFoundError(f"No folder {folder}")
    found = [p for p in [*folder.glob("*"), *folder.glob("*/*")] if p.is_file()]
    relative = [(p, p.relative_to(folder).as_posix()) for p in found]
    return [Photo(path, p.read_bytes) for p, path in relative if is_photo(path)]


def photos_in_zip(data: bytes) -> list[Photo]:
    """Photos in a zip file; a single top folder wrapping everything (as zipping a folder makes) is
    ignored, so that its sub-folders name the persons."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise BadArgument("The upload is not a valid zip file.") from None
    if len(infos) > MAX_PHOTOS:
        raise BadArgument(f"The zip holds {len(infos)} files; at most {MAX_PHOTOS} are accepted.")
    entries = [i for i in infos if not i.is_dir() and is_photo(i.filename)]
    paths = [PurePosixPath(i.filename) for i in entries]
    tops = {p.parts[0] for p in paths}
    strip = 1 if len(tops) == 1 and all(len(p.parts) > 2 for p in paths) else 0
    return [
        Photo(PurePosixPath(*p.parts[strip:]).as_posix(), functools.partial(_read_entry, archive, info))
        for p, info in zip(paths, entries, strict=True)
    ]


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int = MAX_PHOTO_BYTES) -> bytes:
    """The entry's bytes, refused by its declared size, or as soon as more than `limit` come out while
    streaming (a declared size can lie)."""
    too_big = InvalidImageSize(f"The photo is over {limit} bytes; the largest accepted is {limit} bytes.")
    if info.file_size > limit:
        raise too_big
    out = bytearray()
    try:
        with archive.open(info) as entry:
            while chunk := entry.read(_CHUNK):
                out += chunk
                if len(out) > limit:
                    raise too_big
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, ValueError) as exc:
        raise InvalidImage(f"The zip entry cannot be read: {exc}.") from None
    return bytes(out)


def photos_in_blobs(storage: Storage, container: str, prefix: str) -> list[Photo]:
    prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    def reader(name: str) -> Callable[[], bytes]:
        return lambda: storage.get_blob(container, name).data

    photos = []
    for seen, info in enumerate(storage.list_blobs(container, prefix)):
        if seen >= MAX_PHOTOS:
            raise BadArgument(f"More than {MAX_PHOTOS} files under {container}/{prefix}: enroll a narrower prefix.")
        if is_photo(info.name[len(prefix) :]):
            photos.append(Photo(info.name[len(prefix) :], reader(info.name)))
    return photos
