"""Groups, persons and faces on real photos, over the local folder and Azurite."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from function_app.errors import (
    BadArgument,
    FaceTooBlurry,
    FaceTooSmall,
    InvalidImage,
    MultipleFaces,
    NoFaceFound,
    PersistedFaceNotFound,
    PersonGroupExists,
    PersonGroupNotFound,
    PersonNotFound,
)
from function_app.imaging import decode_image, encode_jpeg
from function_app.models import FaceRectangle
from function_app.storage.layout import GALLERY_CONTAINER as CONTAINER


def photo(testdata, name: str) -> bytes:
    return (testdata / name).read_bytes()


@pytest.mark.parametrize("bad", ["Family", "has space", "x" * 65, "", "dot.ted", "ümlaut"])
def test_group_ids_follow_azure_rules(local_api, bad):
    with pytest.raises(BadArgument, match="lowercase letters"):
        local_api.create_group(bad, "name")


def test_group_lifecycle(local_api, group_id):
    created = local_api.create_group(group_id, "Family", user_data="home")
    assert created.to_dict() == {"personGroupId": group_id, "name": "Family", "userData": "home"}
    with pytest.raises(PersonGroupExists):
        local_api.create_group(group_id, "Again")
    assert local_api.update_group(group_id, name="The family").name == "The family"
    assert local_api.get_group(group_id).user_data == "home"
    assert group_id in [g.person_group_id for g in local_api.list_groups()]
    local_api.delete_group(group_id)
    with pytest.raises(PersonGroupNotFound):
        local_api.get_group(group_id)
    with pytest.raises(PersonGroupNotFound):
        local_api.create_person(group_id, "nobody")


def test_group_name_is_required_and_bounded(local_api, group_id):
    with pytest.raises(BadArgument, match="name is required"):
        local_api.create_group(group_id, "")
    with pytest.raises(BadArgument, match="limit is 128"):
        local_api.create_group(group_id, "n" * 129)


def test_person_lifecycle(local_api, group_id):
    local_api.create_group(group_id, "g")
    alice = local_api.create_person(group_id, "Alice", "likes tea")
    bob = local_api.create_person(group_id, "Bob")
    assert len(alice.person_id) == 36
    assert {p.name for p in local_api.list_persons(group_id)} == {"Alice", "Bob"}
    assert local_api.update_person(group_id, alice.person_id, name="Alicia").name == "Alicia"
    assert local_api.get_person(group_id, alice.person_id).user_data == "likes tea"
    local_api.delete_person(group_id, bob.person_id)
    with pytest.raises(PersonNotFound):
        local_api.get_person(group_id, bob.person_id)
    with pytest.raises(PersonNotFound):
        local_api.get_person(group_id, "not-a-uuid")


def test_add_get_delete_face_keeps_photo_and_embedding(local_api, group_id, testdata):
    local_api.create_group(group_id, "g")
    person = local_api.create_person(group_id, "obama")
    data = photo(testdata, "people/obama/1.jpg")
    face = local_api.add_face(group_id, person.person_id, data, user_data="portrait")
    assert local_api.get_person(group_id, person.person_id).persisted_face_ids == (face.persisted_face_id,)
    stored = local_api.get_face(group_id, person.person_id, face.persisted_face_id)
    assert stored.user_data == "portrait"
    assert np.array_equal(stored.embedding, face.embedding)
    assert local_api.gallery.get_face_photo(group_id, person.person_id, face.persisted_face_id) == data
    local_api.delete_face(group_id, person.person_id, face.persisted_face_id)
    with pytest.raises(PersistedFaceNotFound):
        local_api.get_face(group_id, person.person_id, face.persisted_face_id)
    assert local_api.get_person(group_id, person.person_id).persisted_face_ids == ()


def test_add_face_refuses_no_face(local_api, group_id, testdata):
    local_api.create_group(group_id, "g")
    person = local_api.create_person(group_id, "p")
    desk = decode_image(photo(testdata, "people/obama/1.jpg"), max_bytes=1 << 30, max_side=8192)[-300:, :400]
    with pytest.raises(NoFaceFound, match="No face detected"):
        local_api.add_face(group_id, person.person_id, encode_jpeg(np.ascontiguousarray(desk)))


def test_add_face_refuses_several_faces_unless_a_target_is_given(local_api, group_id, testdata):
    local_api.create_group(group_id, "g")
    person = local_api.create_person(group_id, "biden")
    data = photo(testdata, "scenes/two_people.jpg")
    with pytest.raises(MultipleFaces, match="2 faces"):
        local_api.add_face(group_id, person.person_id, data)
    # Biden is on the right of this composite.
    face = local_api.add_face(group_id, person.person_id, data, target_face=FaceRectangle(60, 700, 350, 250))
    assert face.rectangle.left > 700
    with pytest.raises(NoFaceFound, match="targetFace"):
        local_api.add_face(group_id, person.person_id, data, target_face=FaceRectangle(500, 0, 100, 100))


def test_add_face_refuses_a_face_too_small(storage, engine, group_id, testdata):

    from function_app.faceapi.local.service import LocalFaceApi
    from function_app.settings import Settings

    strict = LocalFaceApi(storage, engine, Settings(min_face_size=40))
    strict.create_group(group_id, "g")
    person = strict.create_person(group_id, "obama")
    rgb = decode_image(photo(testdata, "scenes/obama_small.jpg"), max_bytes=1 << 30, max_side=8192)
    # Shrink the 105 px face to 37 px, with a border so the frame stays a plausible photo.
    small = cv2.resize(rgb, None, fx=0.3, fy=0.3, interpolation=cv2.INTER_AREA)
    frame = cv2.copyMakeBorder(small, 60, 60, 60, 60, cv2.BORDER_REPLICATE)
    with pytest.raises(FaceTooSmall, match=r"37×37 pixels; faces need at least 40 pixels"):
        strict.add_face(group_id, person.person_id, encode_jpeg(frame))
    assert strict.get_person(group_id, person.person_id).persisted_face_ids == ()


def test_add_face_refuses_a_blurred_face(local_api, group_id, testdata):
    local_api.create_group(group_id, "g")
    person = local_api.create_person(group_id, "obama")
    rgb = decode_image(photo(testdata, "people/obama/1.jpg"), max_bytes=1 << 30, max_side=8192)
    with pytest.raises(FaceTooBlurry, match="too blurry"):
        local_api.add_face(group_id, person.person_id, encode_jpeg(cv2.GaussianBlur(rgb, (0, 0), 9)))


def test_add_face_refuses_bad_bytes_and_stores_nothing(local_api, group_id, storage, testdata):
    local_api.create_group(group_id, "g")
    person = local_api.create_person(group_id, "p")
    data = photo(testdata, "people/obama/1.jpg")
    for bad in (b"not an image", data[: len(data) // 3]):
        with pytest.raises(InvalidImage):
            local_api.add_face(group_id, person.person_id, bad)
    assert [b.name for b in storage.list_blobs(CONTAINER, f"{group_id}/faces/")] == []


def test_deleting_a_person_or_group_removes_photos_and_embeddings(local_api, group_id, storage, testdata):
    local_api.create_group(group_id, "g")
    obama = local_api.create_person(group_id, "obama")
    biden = local_api.create_person(group_id, "biden")
    local_api.add_face(group_id, obama.person_id, photo(testdata, "people/obama/1.jpg"))
    local_api.add_face(group_id, obama.person_id, photo(testdata, "people/obama/2.jpg"))
    local_api.add_face(group_id, biden.person_id, photo(testdata, "people/biden/2.jpg"))

    def blobs(prefix):
        return [b.name for b in storage.list_blobs(CONTAINER, prefix)]

    assert len(blobs(f"{group_id}/faces/{obama.person_id}/")) == 4  # 2 records + 2 photos
    local_api.delete_person(group_id, obama.person_id)
    assert blobs(f"{group_id}/faces/{obama.person_id}/") == []
    assert len(blobs(f"{group_id}/faces/{biden.person_id}/")) == 2
    local_api.delete_group(group_id)
    assert blobs(f"{group_id}/") == []


def test_groups_are_listed_in_id_order_and_paged(local_api, group_id):
    ids = [f"{group_id}-{n}" for n in ("b", "a", "c")]
    for gid in ids:
        local_api.create_group(gid, gid)
    mine = [g.person_group_id for g in local_api.list_groups() if g.person_group_id.startswith(group_id)]
    assert mine == sorted(ids)
    after_a = local_api.list_groups(start=f"{group_id}-a", top=1)
    assert [g.person_group_id for g in after_a] == [f"{group_id}-b"]


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "WEBP"])
def test_faces_are_added_from_png_bmp_and_webp(local_api, group_id, testdata, fmt):
    import io

    from PIL import Image

    local_api.create_group(group_id, "g")
    person = local_api.create_person(group_id, "obama")
    original = local_api.add_face(group_id, person.person_id, photo(testdata, "scenes/obama_small.jpg"))
    converted = io.BytesIO()
    Image.open(testdata / "scenes/obama_small.jpg").save(
        converted, format=fmt, **({"lossless": True} if fmt == "WEBP" else {})
    )
    face = local_api.add_face(group_id, person.person_id, converted.getvalue())
    assert face.rectangle == original.rectangle
    assert np.linalg.norm(face.embedding - original.embedding) < 1e-3  # the same pixels
    assert local_api.gallery.get_face_photo(group_id, person.person_id, face.persisted_face_id) == converted.getvalue()
