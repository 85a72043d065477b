"""Image URLs: real downloads from a real HTTP server on loopback (allowed by the setting), and the
refusals that keep the service from reaching the network it runs in, whatever a URL, a redirect or a
DNS answer says."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from function_app import image_urls
from function_app.errors import InvalidImageSize, InvalidURL
from function_app.image_urls import fetch_image
from function_app.settings import Settings

from .support.photo_server import photo_server

ALLOWED = Settings(image_url_allowed_hosts="127.0.0.1, photos.test")
PHOTO = "people/obama/1.jpg"


@pytest.fixture(scope="module")
def server(testdata) -> Iterator[str]:
    with photo_server(testdata) as url:
        yield url


class _Resolver:
    """A resolver answering these addresses, recording each question."""

    def __init__(self, *answers: str):
        self.answers = answers
        self.asked: list[str] = []

    def __call__(self, host: str, port: int, type: int = 0) -> list[tuple]:
        self.asked.append(host)
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, type, 6, "", (a, port)) for a in self.answers]


def test_a_photo_from_an_allowed_host(server, testdata):
    assert fetch_image(f"{server}/{PHOTO}", ALLOWED) == (testdata / PHOTO).read_bytes()


def test_a_redirect_is_followed_and_checked_again(server, testdata):
    target = quote(f"{server}/{PHOTO}", safe="")
    assert fetch_image(f"{server}/redirect?to={target}", ALLOWED) == (testdata / PHOTO).read_bytes()
    # the same photo by another name of loopback, not listed: refused at the redirect
    port = server.rsplit(":", 1)[1]
    elsewhere = quote(f"http://localhost:{port}/{PHOTO}", safe="")
    with pytest.raises(InvalidURL, match="loopback"):
        fetch_image(f"{server}/redirect?to={elsewhere}", ALLOWED)


def test_too_many_redirects(server):
    url = f"{server}/{PHOTO}"
    for _ in range(image_urls.MAX_REDIRECTS + 1):
        url = f"{server}/redirect?to={quote(url, safe='')}"
    with pytest.raises(InvalidURL, match="redirects"):
        fetch_image(url, ALLOWED)


def test_loopback_is_refused_unless_allowed(server):
    with pytest.raises(InvalidURL, match="loopback"):
        fetch_image(f"{server}/{PHOTO}", Settings())


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("169.254.169.254", "link-local"),  # the cloud metadata service
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("fe80::1", "link-local"),
        ("fd00::1", "private"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "not public"),  # carrier-grade NAT, shared address space
        ("224.0.0.1", "multicast"),
    ],
)
def test_addresses_inside_a_network_are_refused(address, reason, monkeypatch):
    connections: list[tuple] = []
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: connections.append(a))
    with pytest.raises(InvalidURL, match=reason):
        fetch_image("http://photos.example/face.jpg", Settings(), _Resolver(address))
    assert not connections


def test_one_private_address_among_public_ones_is_enough_to_refuse():
    with pytest.raises(InvalidURL, match="private"):
        fetch_image("https://photos.example/face.jpg", Settings(), _Resolver("8.8.8.8", "10.0.0.1"))


def test_the_connection_goes_to_the_address_checked(monkeypatch):
    """DNS rebinding: the name is resolved once; the connection is made to that address, not to what a
    second resolution would answer."""
    resolve = _Resolver("8.8.8.8")
    connected: list[tuple] = []

    def connect(address, *args, **kwargs):
        connected.append(address)
        raise ConnectionRefusedError

    monkeypatch.setattr(socket, "create_connection", connect)
    with pytest.raises(InvalidURL, match="Error downloading"):
        fetch_image("http://rebinding.example:8080/face.jpg", Settings(), resolve)
    assert connected == [("8.8.8.8", 8080)]
    assert resolve.asked == ["rebinding.example"]


def test_the_host_name_is_kept_when_pinned(server, testdata):
    """An allowed name resolved here to loopback: the photo comes from the address checked."""
    port = server.rsplit(":", 1)[1]
    data = fetch_image(f"http://photos.test:{port}/{PHOTO}", ALLOWED, _Resolver("127.0.0.1"))
    assert data == (testdata / PHOTO).read_bytes()


@pytest.mark.parametrize(
    "url",
    ["", "ftp://photos.example/a.jpg", "file:///etc/passwd", "http://user:pw@photos.example/a.jpg", "http:///a.jpg",
     "http://photos.example:99999/a.jpg", "not a url", "https://" + "a" * 3000, "http://photos.example/a b.jpg",
     "http://photos.example/a.jpg\r\nX-Injected: 1"],
)  # fmt: skip
def test_malformed_urls_are_refused(url):
    with pytest.raises(InvalidURL):
        fetch_image(url, Settings(), _Resolver("8.8.8.8"))


def test_answers_that_are_not_an_image(server):
    with pytest.raises(InvalidURL, match="404"):
        fetch_image(f"{server}/no-such-photo.jpg", ALLOWED)
    with pytest.raises(InvalidURL, match="text/html"):
        fetch_image(f"{server}/page.html", ALLOWED)


def test_an_image_over_the_size_limit(server):
    with pytest.raises(InvalidImageSize):
        fetch_image(f"{server}/{PHOTO}", Settings(image_url_allowed_hosts="127.0.0.1", max_image_bytes=1024))


def test_a_download_over_the_time_limit(server):
    with pytest.raises(InvalidURL, match="took over"):
        fetch_image(f"{server}/slow?seconds=3", Settings(image_url_allowed_hosts="127.0.0.1", image_url_timeout=0.5))
