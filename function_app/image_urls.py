"""Images given by URL (`{"url": ...}`), fetched within limits and never from the network the service
runs in.

The host is resolved once and every address it resolves to must be public (not private, loopback,
link-local, shared, reserved or multicast), unless the host is one FACE_IMAGE_URL_ALLOWED_HOSTS lists;
the connection then goes to the address that was checked, so a DNS answer that changes between the
check and the connection (DNS rebinding) cannot send it elsewhere. Proxies from the environment are
not used. Redirects are followed by hand, a few at most, each hop checked as the first. The body is
read up to the image size limit, within one time budget for the whole fetch. Webhook deliveries
(events/deliveries.py) reach their URLs through the same check (`checked_target`) and pinned connection.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from .errors import InvalidImageSize, InvalidURL
from .settings import Settings

MAX_REDIRECTS = 3
MAX_URL_LENGTH = 2048
CHUNK = 64 * 1024
REDIRECTS = (301, 302, 303, 307, 308)
# Servers often answer photos as application/octet-stream; anything else (HTML, JSON) is not an image.
ACCEPTED_TYPES = ("image/", "application/octet-stream", "binary/octet-stream")

Resolver = Callable[..., list[tuple[Any, ...]]]


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str  # the checked address the connection is pinned to


def _refusal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why an address may not be fetched from, or None if it is a public one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for reason, flag in (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("unspecified", address.is_unspecified),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    ):
        if flag:
            return reason
    return None if address.is_global else "not public"


def allowed_hosts(settings: Settings) -> frozenset[str]:
    return frozenset(h.strip().lower() for h in settings.image_url_allowed_hosts.split(",") if h.strip())


def resolve_target(url: str, settings: Settings, resolve: Resolver = socket.getaddrinfo) -> Target:
    """The image URL's parts and the one address to connect to, after every address of the host was checked."""
    hosts = allowed_hosts(settings)
    return checked_target(
        url,
        resolve,
        lambda host: host in hosts,
        what="image URL",
        remedy="list the host in FACE_IMAGE_URL_ALLOWED_HOSTS to allow it",
    )


def checked_target(
    url: str, resolve: Resolver, may_be_private: Callable[[str], bool], *, what: str, remedy: str
) -> Target:
    """A URL's parts and the one address to connect to: every address its host resolves to must be public,
    unless `may_be_private(host)`. `what` names the URL in the errors; `remedy` says how to allow a refused one."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise InvalidURL(f"Invalid {what}.")
    if any(ord(c) <= 32 or ord(c) == 127 for c in url):  # no HTTP request line could carry it
        raise InvalidURL(f"Invalid {what}: no space or control character; percent-encode them.")
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise InvalidURL(f"Invalid {what}.") from None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host or parts.username or parts.password:
        raise InvalidURL(f"Invalid {what}: use an http or https URL without credentials.")
    try:
        infos = resolve(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise InvalidURL(f"Invalid {what}: the host {host!r} cannot be resolved.") from None
    addresses = list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))
    if not addresses:
        raise InvalidURL(f"Invalid {what}: the host {host!r} cannot be resolved.")
    if not may_be_private(host):
        for address in addresses:
            reason = _refusal(ipaddress.ip_address(address))
            if reason:
                raise InvalidURL(
                    f"{what[0].upper()}{what[1:]}s to {reason} addresses are refused ({host!r} resolves to one); "
                    f"{remedy}."
                )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port, path, addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self.address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to the checked address, with the certificate verified for the URL's host name."""

    def __init__(self, target: Target, timeout: float):
        self.context = ssl.create_default_context()
        super().__init__(target.host, target.port, timeout=timeout, context=self.context)
        self.address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self.context.wrap_socket(sock, server_hostname=self.host)


def pinned_connection(target: Target, timeout: float) -> http.client.HTTPConnection:
    """A connection to the target's checked address (TLS verified for its host name when https)."""
    kind = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    return kind(target, timeout)


def _download(target: Target, deadline: float, max_bytes: int) -> tuple[int, str | None, bytes]:
    """(status, Location header, body) of a GET to the pinned address."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError
    connection = pinned_connection(target, remaining)
    try:
        connection.request("GET", target.path, headers={"Accept": "image/*", "User-Agent": "video-face-recognition"})
        response = connection.getresponse()
        if response.status in REDIRECTS or response.status != 200:
            return response.status, response.getheader("Location"), b""
        content_type = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
        if content_type and not content_type.startswith(ACCEPTED_TYPES):
            raise InvalidURL(f"Invalid image URL: the server answered {content_type}, not an image.")
        length = response.getheader("Content-Length")
        if length and length.isdigit() and int(length) > max_bytes:
            raise InvalidImageSize(f"The image is {length} bytes; the largest accepted is {max_bytes} bytes.")
        body = bytearray()
        while chunk := response.read(CHUNK):
            body += chunk
            if len(body) > max_bytes:
                raise InvalidImageSize(f"The image is over {max_bytes} bytes, the largest accepted.")
            if time.monotonic() > deadline:
                raise TimeoutError
        return 200, None, bytes(body)
    finally:
        connection.close()


def fetch_image(url: str, settings: Settings, resolve: Resolver = socket.getaddrinfo) -> bytes:
    """The bytes at `url`, or InvalidURL / InvalidImageSize with the reason."""
    deadline = time.monotonic() + settings.image_url_timeout
    for _hop in range(MAX_REDIRECTS + 1):
        target = resolve_target(url, settings, resolve)
        try:
            status, location, body = _download(target, deadline, settings.max_image_bytes)
        except TimeoutError:
            raise InvalidURL(f"Downloading the image took over {settings.image_url_timeout} s.") from None
        except (OSError, http.client.HTTPException) as exc:
            raise InvalidURL(f"Error downloading the image from {target.host!r}: {type(exc).__name__}.") from None
        if status == 200:
            return body
        if status not in REDIRECTS or not location:
            raise InvalidURL(f"Error downloading the image: the server answered {status}.")
        url = urljoin(url, location)
    raise InvalidURL(f"Error downloading the image: more than {MAX_REDIRECTS} redirects.")
