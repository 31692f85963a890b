"""``Security``: the shared token and optional TLS files for a deployment.

A token is always used: no pickle is loaded from a peer that has not proven it holds it.  TLS is used when the
address starts with ``tls://``; ``Security.temporary()`` makes a self-signed
CA and certificate (via the ``cryptography`` package) for a quick set-up.
The token can also come from the ``SHOAL_TOKEN`` environment variable or a
token file (``Security.from_file``).
"""
from __future__ import annotations

import os
import secrets
import ssl
import tempfile
from typing import Any

TOKEN_ENV = "SHOAL_TOKEN"


class Security:
    """Credentials for scheduler, workers and clients.

    >>> sec = Security(token="s3cret")                        # token only (tcp://)
    >>> sec = Security(tls_ca_file="ca.pem", tls_cert="c.pem", tls_key="k.pem", token="s3cret")
    >>> sec = Security.temporary()                            # self-signed TLS + random token
    """

    def __init__(self, tls_ca_file: str | None = None, tls_cert: str | None = None,
                 tls_key: str | None = None, token: str | None = None,
                 require_encryption: bool = False):
        self.tls_ca_file = tls_ca_file
        self.tls_cert = tls_cert
        self.tls_key = tls_key
        self.token = token
        self.require_encryption = require_encryption
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("Security needs both tls_cert= and tls_key=, or neither")

    def __repr__(self) -> str:
        tls = "tls" if self.tls_cert else "no-tls"
        return f"Security({tls}, token={'set' if self.token else 'unset'})"

    @property
    def has_tls(self) -> bool:
        """Whether connections use TLS (a certificate is set)."""
        return self.tls_cert is not None

    @classmethod
    def from_env(cls) -> "Security | None":
        """A Security with the token in ``$SHOAL_TOKEN``, or None when it is unset."""
        tok = os.environ.get(TOKEN_ENV)
        return cls(token=tok) if tok else None

    @classmethod
    def from_file(cls, path: str) -> "Security":
        """A Security with the token stored in the file ``path`` (surrounding whitespace dropped)."""
        with open(path) as f:
            return cls(token=f.read().strip())

    def with_token(self, token: str) -> "Security":
        """A copy of these settings with ``token`` as the shared secret."""
        return Security(self.tls_ca_file, self.tls_cert, self.tls_key, token, self.require_encryption)

    @classmethod
    def temporary(cls, token: str | None = None, directory: str | None = None) -> "Security":
        """Self-signed CA + certificate for localhost, in a private temp dir."""
        ca, cert, key = _self_signed(directory)
        return cls(tls_ca_file=ca, tls_cert=cert, tls_key=key,
                   token=token or secrets.token_hex(32), require_encryption=True)

    def ssl_context(self, server: bool) -> ssl.SSLContext:
        """The TLS context for the server or client side: the private CA, this certificate, TLS 1.2+."""
        if not self.has_tls:
            raise ValueError(
                "a tls:// address needs TLS files: pass security=Security(tls_ca_file=..., "
                "tls_cert=..., tls_key=...) or Security.temporary()"
            )
        purpose = ssl.Purpose.CLIENT_AUTH if server else ssl.Purpose.SERVER_AUTH
        ctx = ssl.create_default_context(purpose, cafile=self.tls_ca_file)
        ctx.load_cert_chain(self.tls_cert, self.tls_key)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.verify_mode = ssl.CERT_REQUIRED
        if not server:
            ctx.check_hostname = False  # trust is the private CA; hosts vary by cluster
        return ctx


def new_token() -> str:
    """A fresh random shared secret (64 hex digits)."""
    return secrets.token_hex(32)


def _self_signed(directory: str | None) -> tuple[str, str, str]:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    d = directory or tempfile.mkdtemp(prefix="shoal-tls-")
    os.chmod(d, 0o700)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shoal")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path = os.path.join(d, "cert.pem")
    key_path = os.path.join(d, "key.pem")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cert_path, cert_path, key_path


def resolve_security(security: Any) -> Security | None:
    """Security from an argument, else the environment (SHOAL_TOKEN)."""
    if security is not None:
        return security
    return Security.from_env()
