"""The agent's TLS material: its CA, its callback certificate, pinning.

The callback listener serves HTTPS with a certificate that names the
agent's cluster-side address as an IP subject alternative name (the
conductor checks the host of ``agent_url``). It comes from configuration,
or from the agent's own CA, generated once into the state directory and
reused on every restart: Ironic refuses a heartbeat whose
``agent_verify_ca`` changed while the ramdisk runs, so the CA handed out
must stay the same. The server certificate is re-issued from that CA when
the address changed or it nears its end.

The hop to a ramdisk is verified too: against the certificate the ramdisk
sent (``agent_verify_ca``, pinned as the only trust anchor) or a configured
CA bundle, always with the host checked against the ramdisk's address.

Generation uses ``cryptography``; serving and client contexts the
standard ``ssl`` module.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import os
import secrets
import ssl
import tempfile

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.oid import NameOID

CA_DAYS = 3650
SERVER_DAYS = 825
RENEW_BEFORE = datetime.timedelta(days=30)
SECRET_BYTES = 32

CA_CERT = 'ca.crt'
CA_KEY = 'ca.key'
SERVER_CERT = 'callback.crt'
SERVER_KEY = 'callback.key'
SECRET = 'callback.secret'


class TLSError(Exception):
    """Unusable TLS material (a file, a certificate text)."""


@dataclasses.dataclass(frozen=True)
class Material:
    """What the callback listener needs to serve and to be trusted.

    ``ca_pem`` goes into the heartbeats' ``agent_verify_ca``; ``cert_pem``
    and ``key_pem`` are served; ``secret`` keys the callback URL ids;
    ``persistent`` is False when it lives in memory only.
    """

    ca_pem: str
    cert_pem: str
    key_pem: str
    secret: bytes
    persistent: bool


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


_KEY_USAGES = ('digital_signature', 'content_commitment', 'key_encipherment',
               'data_encipherment', 'key_agreement', 'key_cert_sign',
               'crl_sign', 'encipher_only', 'decipher_only')


def _key_usage(*on: str) -> x509.KeyUsage:
    return x509.KeyUsage(**{u: u in on for u in _KEY_USAGES})


def generate_ca(common_name: str = 'vmetal-dhcp-agent CA') -> tuple[str,
                                                                    str]:
    """A new self-signed CA: (certificate PEM, key PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = _now()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0),
                           critical=True)
            .add_extension(_key_usage('key_cert_sign', 'crl_sign'),
                           critical=True)
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256()))
    return _cert_pem(cert), _key_pem(key)


def issue_server_cert(ca_pem: str, ca_key_pem: str,
                      address: str) -> tuple[str, str]:
    """A server certificate for ``address`` signed by the CA.

    :returns: (certificate PEM, key PEM).
    """
    ca = x509.load_pem_x509_certificate(ca_pem.encode())
    ca_key = serialization.load_pem_private_key(ca_key_pem.encode(), None)
    ca_public = ca.public_key()
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey) or \
            not isinstance(ca_public, ec.EllipticCurvePublicKey):
        raise TLSError('the agent CA is not an EC key pair')
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    ip = ipaddress.ip_address(address)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([
                x509.NameAttribute(NameOID.COMMON_NAME, str(ip))]))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(min(now + datetime.timedelta(days=SERVER_DAYS),
                                 ca.not_valid_after_utc))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                           critical=True)
            .add_extension(_key_usage('digital_signature'), critical=True)
            .add_extension(x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ip)]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(
                key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_public), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return _cert_pem(cert), _key_pem(key)


def covers(cert_pem: str, address: str, at: datetime.datetime | None = None,
           margin: datetime.timedelta = RENEW_BEFORE) -> bool:
    """True if the certificate names ``address``, valid ``margin`` more."""
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    at = at or _now()
    if cert.not_valid_after_utc - margin < at:
        return False
    try:
        san = cert.extensions.get_extension_for_class(
            x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    return ipaddress.ip_address(address) in san.get_values_for_type(
        x509.IPAddress)


def canonical_certificate(text: str) -> str:
    """The PEM of exactly one X.509 certificate in ``text``.

    :raises TLSError: not one PEM certificate.
    """
    if not isinstance(text, str) or text.count('-----BEGIN') != 1:
        raise TLSError('not exactly one PEM certificate')
    try:
        cert = x509.load_pem_x509_certificate(text.encode())
    except ValueError as e:
        raise TLSError('not a PEM certificate: %s' % e)
    return _cert_pem(cert)


# --- files


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def _write_private(path: str, data: bytes) -> None:
    tmp = path + '.tmp'
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'wb') as f:
        f.write(data)
    os.replace(tmp, path)


def generate_material(address: str) -> Material:
    """Fresh material in memory (no state directory)."""
    ca_pem, ca_key = generate_ca()
    cert, key = issue_server_cert(ca_pem, ca_key, address)
    return Material(ca_pem, cert, key, secrets.token_bytes(SECRET_BYTES),
                    persistent=False)


def load_state(state_dir: str, address: str,
               cert_file: str | None = None, key_file: str | None = None,
               ca_file: str | None = None) -> Material:
    """The material kept in ``state_dir``, created on first use.

    With ``cert_file`` and ``key_file`` the served certificate is the
    configured one (its CA: ``ca_file``, else the certificate itself);
    otherwise the agent's CA and a certificate for ``address`` signed by
    it, re-issued when the address changed or it nears its end. The
    callback secret always lives in ``state_dir``.

    :raises TLSError: a file is unreadable or invalid.
    :raises OSError: the directory cannot be written.
    """
    secret_path = os.path.join(state_dir, SECRET)
    if not os.path.exists(secret_path):
        _write_private(secret_path, secrets.token_bytes(SECRET_BYTES))
    with open(secret_path, 'rb') as f:
        secret = f.read()
    if len(secret) < 16:
        raise TLSError('%s: secret shorter than 16 bytes' % secret_path)
    if cert_file:
        return _configured(cert_file, key_file, ca_file, address, secret)
    ca_path = os.path.join(state_dir, CA_CERT)
    ca_key_path = os.path.join(state_dir, CA_KEY)
    if not os.path.exists(ca_path):
        ca_pem, ca_key = generate_ca()
        _write_private(ca_key_path, ca_key.encode())
        _write_private(ca_path, ca_pem.encode())
    ca_pem, ca_key = _read(ca_path), _read(ca_key_path)
    cert_path = os.path.join(state_dir, SERVER_CERT)
    key_path = os.path.join(state_dir, SERVER_KEY)
    try:
        fresh = os.path.exists(cert_path) and covers(_read(cert_path),
                                                     address)
    except ValueError:
        fresh = False
    if not fresh:
        cert, key = issue_server_cert(ca_pem, ca_key, address)
        _write_private(key_path, key.encode())
        _write_private(cert_path, cert.encode())
    material = Material(ca_pem, _read(cert_path), _read(key_path), secret,
                        persistent=True)
    server_context(material)    # proves the files make a usable pair
    return material


def _configured(cert_file, key_file, ca_file, address, secret) -> Material:
    try:
        cert = _read(cert_file)
        key = _read(key_file)
        ca = canonical_certificate(_read(ca_file)) if ca_file else \
            canonical_certificate(cert.split('-----END CERTIFICATE-----')[0]
                                  + '-----END CERTIFICATE-----\n')
    except OSError as e:
        raise TLSError(str(e))
    if not covers(cert, address, margin=datetime.timedelta(0)):
        raise TLSError('%s does not name %s as an IP subject alternative '
                       'name, or has expired' % (cert_file, address))
    material = Material(ca, cert, key, secret, persistent=True)
    server_context(material)
    return material


# --- ssl contexts


def server_context(material: Material) -> ssl.SSLContext:
    """A TLS server context serving the material's certificate.

    :raises TLSError: certificate and key do not make a usable pair.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    load_chain(ctx, material.cert_pem, material.key_pem)
    return ctx


def load_chain(ctx: ssl.SSLContext, cert_pem: str, key_pem: str) -> None:
    """Load a certificate and key given as text (ssl wants files)."""
    with tempfile.TemporaryDirectory(prefix='vmetal-tls-') as tmp:
        cert = os.path.join(tmp, 'c.pem')
        key = os.path.join(tmp, 'k.pem')
        _write_private(cert, cert_pem.encode())
        _write_private(key, key_pem.encode())
        try:
            ctx.load_cert_chain(cert, key)
        except (ssl.SSLError, ValueError) as e:
            raise TLSError('certificate and key unusable: %s' % e)


def file_server_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """A TLS server context from certificate and key files.

    :raises TLSError: unreadable or not a pair.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(cert_file, key_file)
    except (OSError, ssl.SSLError) as e:
        raise TLSError('%s / %s: %s' % (cert_file, key_file, e))
    return ctx


def pinned_context(cert_pem: str) -> ssl.SSLContext:
    """A client context that trusts exactly one certificate.

    The host name (the ramdisk's IP address) is still checked against the
    certificate. Partial chains are accepted, so a pinned certificate that
    is not self-signed is an anchor too.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    ctx.load_verify_locations(cadata=cert_pem)
    return ctx


def bundle_context(cafile: str | None) -> ssl.SSLContext:
    """A client context verifying against ``cafile`` or the system store."""
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx
