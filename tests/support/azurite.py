"""Start Azurite (installed from npm into node_modules) on loopback ports for the tests."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
AZURITE = PROJECT / "node_modules" / ".bin" / "azurite"
# Azurite's documented, public development account; not a secret.
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def connection_string(blob_port: int, queue_port: int, table_port: int, scheme: str = "http") -> str:
    blob_url, queue_url = endpoints(blob_port, queue_port, scheme)
    return (
        f"DefaultEndpointsProtocol={scheme};AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
        f"BlobEndpoint={blob_url};QueueEndpoint={queue_url};"
        f"TableEndpoint={scheme}://127.0.0.1:{table_port}/{DEV_ACCOUNT};"
    )


def endpoints(blob_port: int, queue_port: int, scheme: str = "http") -> tuple[str, str]:
    return (f"{scheme}://127.0.0.1:{blob_port}/{DEV_ACCOUNT}", f"{scheme}://127.0.0.1:{queue_port}/{DEV_ACCOUNT}")


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (Azurite accepts bearer tokens over HTTPS only)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Azurite exited with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"Azurite did not listen on port {port} within {timeout} s")


class AzuriteProcess(subprocess.Popen):
    """A running Azurite and the log its messages go to (what `stop_azurite` waits for)."""

    log: Path


def start_azurite(
    location: Path,
    *,
    oauth_certificate: tuple[Path, Path] | None = None,
    ports: tuple[int, int, int] | None = None,
) -> tuple[AzuriteProcess, str]:
    """Azurite on free loopback ports (or on `ports`: blob, queue, table, to start it again where it was) and its
    connection string. With a certificate (cert, key) it serves HTTPS and checks bearer tokens as Azure Storage
    does (issuer, audience, lifetime; not the signature)."""
    blob_port, queue_port, table_port = ports or (free_port(), free_port(), free_port())
    oauth = []
    if oauth_certificate:
        oauth = ["--oauth", "basic", "--cert", str(oauth_certificate[0]), "--key", str(oauth_certificate[1])]
    log_path = location / "azurite.log"
    with open(log_path, "ab") as log:  # Popen keeps its own copy of the descriptor
        process = AzuriteProcess(
            [
                str(AZURITE),
                "--silent",
                "--skipApiVersionCheck",
                "--loose",
                "--location",
                str(location),
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                str(blob_port),
                "--queueHost",
                "127.0.0.1",
                "--queuePort",
                str(queue_port),
                "--tableHost",
                "127.0.0.1",
                "--tablePort",
                str(table_port),
                *oauth,
            ],
            stdout=log,  # its "service successfully closed" lines: see stop_azurite
            stderr=subprocess.STDOUT,
        )
    process.log = log_path
    try:
        _wait_for_port(blob_port, process)
        _wait_for_port(queue_port, process)
        _wait_for_port(table_port, process)
    except RuntimeError:
        process.kill()
        raise
    return process, connection_string(blob_port, queue_port, table_port, "https" if oauth_certificate else "http")


CLOSED = [f"Azurite {service} service successfully closed" for service in ("Blob", "Queue", "Table")]


def stop_azurite(process: AzuriteProcess, timeout: float = 10.0) -> None:
    """SIGTERM makes Azurite close its three services, saving their stores (each says so on stdout) within
    milliseconds; the process itself then lingers for as long as a client keeps an idle connection open (5 s
    and more), so once all three have closed it is killed: nothing written is lost. Killed after `timeout`
    seconds in any case."""
    already = process.log.stat().st_size  # the log is appended to when Azurite starts again at its location
    process.terminate()
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        with open(process.log, "rb") as log:
            log.seek(already)
            said = log.read().decode(errors="replace")
        if all(line in said for line in CLOSED):
            break
        time.sleep(0.01)
    if process.poll() is None:
        process.kill()
    process.wait()


def endpoints_of(connection_string: str) -> tuple[str, str]:
    """The blob and queue endpoints (the table endpoint is the visit index's: visits/table_index.py)."""
    parts = dict(part.split("=", 1) for part in connection_string.split(";") if part)
    return parts["BlobEndpoint"], parts["QueueEndpoint"]


class FakeEntraCredential:
    """Hands out tokens shaped like Microsoft Entra's, for the scope asked (Azurite's basic OAuth checks
    issuer, audience and lifetime, not the signature; so does tests/face_api_proxy.py). Counts the tokens
    asked for; `lifetime` < 0 makes expired ones."""

    def __init__(self, lifetime: int = 3600):
        self.lifetime = lifetime
        self.scopes: list[str] = []

    def get_token(self, *scopes: str, **kwargs):
        import base64
        import json

        from azure.core.credentials import AccessToken

        self.scopes.extend(scopes)
        now = int(time.time())
        claims = {
            "aud": scopes[0].removesuffix("/.default"),  # e.g. https://storage.azure.com
            "iss": "https://sts.windows.net/00000000-0000-0000-0000-000000000000/",
            "iat": now - 60,
            "nbf": now - 60,
            "exp": now + self.lifetime,
        }

        def b64(data: dict) -> str:
            return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

        return AccessToken(f"{b64({'alg': 'RS256', 'typ': 'JWT'})}.{b64(claims)}.c2ln", now + self.lifetime)
