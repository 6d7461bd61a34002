"""The agent's TLS material: generation, reuse, re-issue, pinning."""

import datetime
import os
import socket
import ssl
import threading

from cryptography import x509
import pytest

from vmetal_ironic.agent.http import tls


def _san_ips(pem):
    cert = x509.load_pem_x509_certificate(pem.encode())
    san = cert.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    return [str(i) for i in san.get_values_for_type(x509.IPAddress)]


def test_generated_certificate_names_the_address_and_chains_to_the_ca():
    m = tls.generate_material('10.0.0.2')
    assert not m.persistent and len(m.secret) == 32
    assert _san_ips(m.cert_pem) == ['10.0.0.2']
    ca = x509.load_pem_x509_certificate(m.ca_pem.encode())
    leaf = x509.load_pem_x509_certificate(m.cert_pem.encode())
    assert leaf.issuer == ca.subject
    leaf.verify_directly_issued_by(ca)
    assert tls.covers(m.cert_pem, '10.0.0.2')
    assert not tls.covers(m.cert_pem, '10.0.0.3')
    later = datetime.datetime.now(datetime.timezone.utc) + \
        datetime.timedelta(days=tls.SERVER_DAYS)
    assert not tls.covers(m.cert_pem, '10.0.0.2', at=later)


def test_state_is_created_once_and_reused(tmp_path):
    first = tls.load_state(str(tmp_path), '10.0.0.2')
    assert first.persistent
    assert sorted(os.listdir(tmp_path)) == sorted(
        [tls.CA_CERT, tls.CA_KEY, tls.SERVER_CERT, tls.SERVER_KEY,
         tls.SECRET])
    for name in (tls.CA_KEY, tls.SERVER_KEY, tls.SECRET):
        assert os.stat(tmp_path / name).st_mode & 0o077 == 0
    again = tls.load_state(str(tmp_path), '10.0.0.2')
    assert again == first


def test_new_address_reissues_the_server_certificate_from_the_same_ca(
        tmp_path):
    first = tls.load_state(str(tmp_path), '10.0.0.2')
    moved = tls.load_state(str(tmp_path), '10.0.0.9')
    assert moved.ca_pem == first.ca_pem
    assert moved.secret == first.secret
    assert _san_ips(moved.cert_pem) == ['10.0.0.9']


def test_configured_certificate(tmp_path):
    ca, ca_key = tls.generate_ca('operator CA')
    cert, key = tls.issue_server_cert(ca, ca_key, '10.0.0.2')
    (tmp_path / 'c.pem').write_text(cert)
    (tmp_path / 'k.pem').write_text(key)
    (tmp_path / 'ca.pem').write_text(ca)
    state = tmp_path / 'state'
    state.mkdir()
    m = tls.load_state(str(state), '10.0.0.2', str(tmp_path / 'c.pem'),
                       str(tmp_path / 'k.pem'), str(tmp_path / 'ca.pem'))
    assert m.cert_pem == cert and m.ca_pem == tls.canonical_certificate(ca)
    assert os.listdir(state) == [tls.SECRET]
    # Without a CA file the certificate itself is handed out.
    m = tls.load_state(str(state), '10.0.0.2', str(tmp_path / 'c.pem'),
                       str(tmp_path / 'k.pem'))
    assert m.ca_pem == tls.canonical_certificate(cert)
    with pytest.raises(tls.TLSError, match='10.0.0.3'):
        tls.load_state(str(state), '10.0.0.3', str(tmp_path / 'c.pem'),
                       str(tmp_path / 'k.pem'))
    with pytest.raises(tls.TLSError):
        tls.load_state(str(state), '10.0.0.2', str(tmp_path / 'nope.pem'),
                       str(tmp_path / 'k.pem'))
    other_cert, other_key = tls.issue_server_cert(ca, ca_key, '10.0.0.2')
    (tmp_path / 'k2.pem').write_text(other_key)
    with pytest.raises(tls.TLSError, match='unusable'):
        tls.load_state(str(state), '10.0.0.2', str(tmp_path / 'c.pem'),
                       str(tmp_path / 'k2.pem'))


def test_canonical_certificate_refuses_non_certificates():
    m = tls.generate_material('10.0.0.2')
    assert tls.canonical_certificate(m.cert_pem) == m.cert_pem
    for bad in ('', 'garbage', m.cert_pem + m.ca_pem, 42,
                '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'
                '\n'):
        with pytest.raises(tls.TLSError):
            tls.canonical_certificate(bad)


def _serve_once(ctx):
    """A TLS server on loopback; returns (port, thread)."""
    lsock = socket.socket()
    lsock.bind(('127.0.0.1', 0))
    lsock.listen(1)

    def serve():
        conn, _ = lsock.accept()
        try:
            with ctx.wrap_socket(conn, server_side=True) as s:
                s.sendall(b'ok')
        except (ssl.SSLError, OSError):
            pass
        finally:
            lsock.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return lsock.getsockname()[1], t


def _client(ctx, port):
    with socket.create_connection(('127.0.0.1', port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname='127.0.0.1') as s:
            return s.recv(2)


def test_pinned_context_trusts_exactly_the_pinned_certificate():
    # A self-signed certificate as IPA's automatic TLS makes one.
    ramdisk = tls.generate_material('127.0.0.1')
    own = tls.Material(ramdisk.cert_pem, ramdisk.cert_pem, ramdisk.key_pem,
                       b'x' * 32, False)
    port, t = _serve_once(tls.server_context(own))
    assert _client(tls.pinned_context(ramdisk.cert_pem), port) == b'ok'
    t.join(5)
    # The agent's server certificate is accepted through its CA.
    port, t = _serve_once(tls.server_context(ramdisk))
    assert _client(tls.pinned_context(ramdisk.ca_pem), port) == b'ok'
    t.join(5)
    # Another certificate for the same address is refused.
    impostor = tls.generate_material('127.0.0.1')
    port, t = _serve_once(tls.server_context(impostor))
    with pytest.raises(ssl.SSLCertVerificationError):
        _client(tls.pinned_context(ramdisk.ca_pem), port)
    t.join(5)


def test_host_is_checked_against_the_address():
    m = tls.generate_material('127.0.0.2')
    port, t = _serve_once(tls.server_context(m))
    with pytest.raises(ssl.SSLCertVerificationError):
        _client(tls.pinned_context(m.ca_pem), port)
    t.join(5)
