"""A ramdisk heartbeat passing the proxy: parse, check, rewrite (pure).

``POST /v1/heartbeat/<node>`` carries the ``callback_url`` where the
conductor will call the ramdisk, an address on the provisioning segment.
:func:`rewrite` checks that the heartbeat may speak for that node and
address, and replaces the URL with one on the agent's callback listener
that identifies the ramdisk (:func:`ramdisk_id`). The id is an HMAC, keyed
with the agent's persisted secret, of node, address, port and scheme: every
heartbeat of one ramdisk gets the same URL (Ironic refuses a changed
``callback_url``), also after an agent restart.

A heartbeat is accepted only when the node is named by UUID, the
connection's source address is a reservation of that node, and the
callback URL's host is that address. The body must be one JSON object sent
as ``application/json`` with no query string: Ironic merges query and form
parameters into the heartbeat's arguments, so nothing may bypass the
rewrite.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import ipaddress
import json
import re
import urllib.parse
import uuid
from typing import Any, Callable

HEARTBEAT_RE = re.compile(r'^/v1/heartbeat/([^/]+)/?$')
PREFIX = '/ramdisk'
_TARGET_RE = re.compile(r'^%s/([a-z2-7]{26})((?:[/?].*)?)$' % PREFIX,
                        re.DOTALL)


@dataclasses.dataclass(frozen=True)
class Target:
    """Where the conductor's calls for one ramdisk go."""

    node_uuid: str
    ip: str
    port: int
    scheme: str
    mac: bytes
    pinned_pem: str | None = None


@dataclasses.dataclass(frozen=True)
class Rewritten:
    """The body to forward and the ramdisk it registers."""

    body: bytes
    ramdisk_id: str
    target: Target


@dataclasses.dataclass(frozen=True)
class Unchanged:
    """Forward the body as received (an empty ``callback_url``)."""

    reason: str


@dataclasses.dataclass(frozen=True)
class Refused:
    """Answer ``status`` and do not forward."""

    status: int
    reason: str


def is_heartbeat(method: str, path: str) -> bool:
    """True for the heartbeat endpoint (``path`` without query)."""
    return method == 'POST' and HEARTBEAT_RE.match(path) is not None


def node_uuid(path: str) -> str | None:
    """The canonical node UUID named by a heartbeat path, or None.

    Ironic accepts a UUID or a logical name; only a UUID can be checked
    against the reservations, so a name gives None.
    """
    m = HEARTBEAT_RE.match(path)
    if not m:
        return None
    ident = urllib.parse.unquote(m.group(1))
    try:
        value = uuid.UUID(ident)
    except ValueError:
        return None
    # uuid.UUID also takes "{...}", "urn:uuid:..." and no dashes; Ironic
    # does too (oslo.utils is_uuid_like), so all name the same node.
    return str(value)


def ramdisk_id(secret: bytes, node: str, ip: str, port: int,
               scheme: str) -> str:
    """The stable id of one ramdisk boot: 26 base32 characters."""
    msg = ('%s|%s|%d|%s' % (node, ip, port, scheme)).encode()
    digest = hmac.new(secret, msg, hashlib.sha256).digest()
    return base64.b32encode(digest[:20]).decode().lower().rstrip('=')[:26]


def callback_base(address: str, port: int) -> str:
    """``https://<address>:<port>/ramdisk`` (IPv6 in brackets)."""
    host = '[%s]' % address if ':' in address else address
    return 'https://%s:%d%s' % (host, port, PREFIX)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError('duplicate key')
    return dict(pairs)


def parse_body(content_type: str | None, body: bytes) -> dict[str, Any]:
    """The heartbeat's JSON object.

    :raises ValueError: not ``application/json``, not UTF-8 JSON, not an
        object, or a key given twice.
    """
    mime = (content_type or '').split(';', 1)[0].strip().lower()
    if mime != 'application/json':
        raise ValueError('Content-Type must be application/json')
    doc = json.loads(body.decode('utf-8'), object_pairs_hook=_no_duplicates)
    if not isinstance(doc, dict):
        raise ValueError('not a JSON object')
    return doc


def parse_callback(url: str) -> tuple[str, str, int]:
    """(scheme, ip, port) of a ramdisk's callback URL.

    :raises ValueError: not ``http(s)://<ip address>[:port]`` with at most
        a ``/`` path.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ('http', 'https'):
        raise ValueError('scheme is not http or https')
    if parts.username is not None or parts.password is not None:
        raise ValueError('user information in the URL')
    if parts.path not in ('', '/') or parts.query or parts.fragment:
        raise ValueError('a path, query or fragment in the URL')
    host = parts.hostname
    if not host:
        raise ValueError('no host')
    ip = ipaddress.ip_address(host)     # a name is not an address
    port = parts.port or (443 if parts.scheme == 'https' else 80)
    return parts.scheme, str(ip), port


def rewrite(path: str, query: str, content_type: str | None, body: bytes,
            source_ip: str,
            reservation: Callable[[str], tuple[bytes, str | None] | None],
            secret: bytes, base_url: str,
            agent_ca_pem: str) -> Rewritten | Unchanged | Refused:
    """Check a heartbeat and rewrite its callback URL.

    :param path: the request path (no query).
    :param query: the query string ('' when none).
    :param content_type: the Content-Type header.
    :param body: the request body.
    :param source_ip: the connection's source address.
    :param reservation: ``ip -> (mac, node uuid) or None``, from the
        agent's reservation table.
    :param secret: the agent's callback secret.
    :param base_url: the callback listener's URL (:func:`callback_base`).
    :param agent_ca_pem: the agent's CA, for ``agent_verify_ca``.
    :returns: :class:`Rewritten`, :class:`Unchanged` or :class:`Refused`.
    """
    if query:
        return Refused(400, 'a heartbeat takes no query string')
    try:
        doc = parse_body(content_type, body)
    except (ValueError, UnicodeDecodeError) as e:
        return Refused(400, 'heartbeat body: %s' % e)
    callback = doc.get('callback_url')
    if callback == '':
        return Unchanged('empty callback_url')
    if not isinstance(callback, str):
        return Refused(400, 'callback_url is not a string')
    node = node_uuid(path)
    if node is None:
        return Refused(403, 'node not named by UUID: cannot attribute the '
                            'heartbeat to a reservation')
    try:
        scheme, ip, port = parse_callback(callback)
    except ValueError as e:
        return Refused(403, 'callback_url %r: %s' % (callback, e))
    try:
        source = str(ipaddress.ip_address(source_ip))
    except ValueError:
        return Refused(403, 'unknown source address')
    if ip != source:
        return Refused(403, 'callback_url host %s is not the source '
                            'address %s' % (ip, source))
    found = reservation(source)
    if found is None:
        return Refused(403, '%s is not a reservation' % source)
    mac, owner = found
    if owner != node:
        return Refused(403, '%s is a reservation of node %s, not of node '
                            '%s' % (source, owner, node))
    pinned = None
    verify_ca = doc.get('agent_verify_ca')
    if verify_ca is not None and scheme == 'https':
        if not isinstance(verify_ca, str):
            return Refused(400, 'agent_verify_ca is not a string')
        pinned = verify_ca
    rid = ramdisk_id(secret, node, ip, port, scheme)
    doc['callback_url'] = '%s/%s' % (base_url, rid)
    doc['agent_verify_ca'] = agent_ca_pem
    out = json.dumps(doc, separators=(',', ':')).encode()
    return Rewritten(out, rid, Target(node, ip, port, scheme, mac, pinned))


def split_target(path: str) -> tuple[str, str] | None:
    """(ramdisk id, rest) of a listener request target, or None.

    ``/ramdisk/<id>/v1/commands/?wait=true`` gives
    ``(id, '/v1/commands/?wait=true')``.
    """
    m = _TARGET_RE.match(path)
    if m is None:
        return None
    rest = m.group(2)
    return m.group(1), rest if rest.startswith('/') else '/' + rest
