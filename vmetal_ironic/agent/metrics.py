"""The agent's Prometheus metrics, each defined once, here.

Names follow Kea's statistics so that dashboards port over: Kea's
``pkt4-discover-received`` is ``vmetal_dhcp4_packets_received_total
{type="discover"}``, ``pkt4-offer-sent`` is
``vmetal_dhcp4_packets_sent_total{type="offer"}``, ``pkt4-parse-failed``
is ``vmetal_dhcp4_parse_failed_total``, ``pkt4-receive-drop`` is
``vmetal_dhcp4_packets_dropped_total`` by reason. The full list is in
doc/metrics.md.

Every metric lives on :data:`REGISTRY` (not prometheus-client's global
one), which the agent's metrics endpoint (:mod:`.health`) serves. The
servers count with the one-line helpers below; they never raise.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Callable

import prometheus_client as prom

# The ``*_created`` series double every counter and serve no dashboard.
prom.disable_created_metrics()

#: What the agent's ``/metrics`` serves.
REGISTRY = prom.CollectorRegistry(auto_describe=True)

#: DHCP message types (option 53) by number, as label values.
DHCP_TYPES = {1: 'discover', 2: 'offer', 3: 'request', 4: 'decline',
              5: 'ack', 6: 'nak', 7: 'release', 8: 'inform'}
UNKNOWN_TYPE = 'unknown'

#: Drop reasons of ``vmetal_dhcp4_packets_dropped_total``.
DROP_UNKNOWN_MAC = 'unknown_mac'
DROP_WRONG_INTERFACE = 'wrong_interface'
DROP_RELAY_NOT_ALLOWED = 'relay_not_allowed'
DROP_RATE_LIMITED = 'rate_limited'
#: A reserved node whose boot profile says it boots without DHCP.
DROP_DHCP_OFF = 'dhcp_off'
DROP_REASONS = (DROP_UNKNOWN_MAC, DROP_WRONG_INTERFACE,
                DROP_RELAY_NOT_ALLOWED, DROP_RATE_LIMITED, DROP_DHCP_OFF)

#: Outcomes of ``vmetal_callback_forwards_total``.
FORWARDED = 'forwarded'
REFUSED = 'refused'
FAILED = 'failed'

#: The callback listener's component name (its requests are forwards).
CALLBACK_SERVER = 'callback-listener'

# --- DHCP

DHCP_RECEIVED = prom.Counter(
    'vmetal_dhcp4_packets_received', 'DHCPv4 packets received, by message '
    'type (Kea pkt4-<type>-received; unknown: no or an unknown option 53)',
    ['type'], registry=REGISTRY)
DHCP_SENT = prom.Counter(
    'vmetal_dhcp4_packets_sent', 'DHCPv4 packets sent, by message type '
    '(Kea pkt4-<type>-sent)', ['type'], registry=REGISTRY)
DHCP_PARSE_FAILED = prom.Counter(
    'vmetal_dhcp4_parse_failed', 'DHCPv4 packets that could not be parsed '
    '(Kea pkt4-parse-failed)', registry=REGISTRY)
DHCP_DROPPED = prom.Counter(
    'vmetal_dhcp4_packets_dropped', 'DHCPv4 packets dropped without an '
    'answer, by reason (Kea pkt4-receive-drop)', ['reason'],
    registry=REGISTRY)

# --- reservation table and its sources

RESERVATIONS = prom.Gauge(
    'vmetal_dhcp4_reservations', 'Reservations in the agent\'s table '
    '(all sources)', registry=REGISTRY)
SOURCE_LOADED = prom.Gauge(
    'vmetal_reservation_source_loaded', '1 once the source has filled the '
    'table (what /readyz waits for)', ['source'], registry=REGISTRY)
GENERATION = prom.Gauge(
    'vmetal_reservation_generation', 'IPAM generation the table is at',
    registry=REGISTRY)
SYNC_AGE = prom.Gauge(
    'vmetal_reservation_sync_age_seconds', 'Seconds since the last '
    'successful load or sync of a source (NaN: none yet)', ['source'],
    registry=REGISTRY)
SNAPSHOT_AGE = prom.Gauge(
    'vmetal_reservation_snapshot_age_seconds', 'Seconds since the local '
    'snapshot of the table was last written (NaN: none written)',
    registry=REGISTRY)

# --- TFTP

TFTP_TRANSFERS = prom.Counter(
    'vmetal_tftp_transfers', 'TFTP transfers ended, by outcome '
    '(completed, failed)', ['outcome'], registry=REGISTRY)
TFTP_BYTES = prom.Counter(
    'vmetal_tftp_bytes_sent', 'Bytes of files sent by completed TFTP '
    'transfers', registry=REGISTRY)
TFTP_ERRORS = prom.Counter(
    'vmetal_tftp_errors', 'TFTP requests refused with an ERROR packet, by '
    'TFTP error code', ['code'], registry=REGISTRY)

# --- HTTP proxy and callback listener

HTTP_REQUESTS = prom.Counter(
    'vmetal_http_proxy_requests', 'HTTP proxy requests answered, by route '
    '(api, boot, refused) and status', ['route', 'status'],
    registry=REGISTRY)
HTTP_BYTES = prom.Counter(
    'vmetal_http_proxy_response_bytes', 'Response body bytes relayed by '
    'the HTTP proxy, by route', ['route'], registry=REGISTRY)
CALLBACK_FORWARDS = prom.Counter(
    'vmetal_callback_forwards', 'Conductor calls on the callback listener, '
    'by outcome (forwarded to the ramdisk, refused by the listener, failed '
    'to reach the ramdisk)', ['outcome'], registry=REGISTRY)

# --- boot-name DNS responder

#: Drop reason of ``vmetal_dns_dropped_total``: not a query to answer.
DNS_DROP_GARBAGE = 'garbage'
DNS_QUERIES = prom.Counter(
    'vmetal_dns_queries', 'DNS queries answered, by QTYPE (a, aaaa, any, '
    'other) and result (noerror, nodata, nxdomain, refused, formerr, '
    'notimp, badvers)', ['type', 'result'], registry=REGISTRY)
DNS_DROPPED = prom.Counter(
    'vmetal_dns_dropped', 'DNS datagrams dropped without an answer, by '
    'reason (garbage, rate_limited)', ['reason'], registry=REGISTRY)

for _t in DHCP_TYPES.values():
    (DHCP_SENT if _t in ('offer', 'ack', 'nak') else DHCP_RECEIVED).labels(
        type=_t)
DHCP_RECEIVED.labels(type=UNKNOWN_TYPE)
for _r in DROP_REASONS:
    DHCP_DROPPED.labels(reason=_r)
for _r in (DNS_DROP_GARBAGE, DROP_RATE_LIMITED):
    DNS_DROPPED.labels(reason=_r)
for _o in (FORWARDED, REFUSED, FAILED):
    CALLBACK_FORWARDS.labels(outcome=_o)


def dhcp_type(msg_type: int) -> str:
    """The label value of a DHCP message type."""
    return DHCP_TYPES.get(msg_type, UNKNOWN_TYPE)


# The DHCP hot path counts through children bound once per message type
# and reason: ``labels()`` hashes and locks on every call, which every
# packet would pay otherwise.
_RECEIVED = {t: DHCP_RECEIVED.labels(type=name)
             for t, name in DHCP_TYPES.items()}
_RECEIVED_UNKNOWN = DHCP_RECEIVED.labels(type=UNKNOWN_TYPE)
_SENT: dict[int, prom.Counter] = {}
_DROPPED = {r: DHCP_DROPPED.labels(reason=r) for r in DROP_REASONS}


def received(msg_type: int) -> None:
    """Count one parsed DHCP packet."""
    _RECEIVED.get(msg_type, _RECEIVED_UNKNOWN).inc()


def sent(msg_type: int) -> None:
    """Count one DHCP reply sent."""
    key = msg_type if msg_type in DHCP_TYPES else -1
    child = _SENT.get(key)
    if child is None:
        # bound on first use: only the types the server sends get a series
        child = _SENT.setdefault(key, DHCP_SENT.labels(
            type=dhcp_type(msg_type)))
    child.inc()


def dropped(reason: str) -> None:
    """Count one DHCP packet dropped (one of :data:`DROP_REASONS`)."""
    child = _DROPPED.get(reason)
    if child is None:
        child = DHCP_DROPPED.labels(reason=reason)
    child.inc()


def tftp_finished(ok: bool, size: int) -> None:
    """Count one TFTP transfer that ended (and its bytes when complete)."""
    TFTP_TRANSFERS.labels(outcome='completed' if ok else 'failed').inc()
    if ok:
        TFTP_BYTES.inc(size)


def http_answered(server: str, route: str, status: int,
                  size: int = 0) -> None:
    """Count one answer of the HTTP proxy or of the callback listener.

    :param server: the component's name (the callback listener's answers
        are callback forwards).
    :param route: the proxy's route (``api``, ``boot``) or ``refused``
        for an answer of the agent itself.
    """
    if server == CALLBACK_SERVER:
        outcome = (FORWARDED if route != REFUSED else
                   FAILED if status in (502, 504) else REFUSED)
        CALLBACK_FORWARDS.labels(outcome=outcome).inc()
        return
    HTTP_REQUESTS.labels(route=route, status=str(status)).inc()
    if size:
        HTTP_BYTES.labels(route=route).inc(size)


def dns_answered(qtype: str, result: str) -> None:
    """Count one DNS query answered (labels from :mod:`.dns.zone`)."""
    DNS_QUERIES.labels(type=qtype, result=result).inc()


def dns_dropped(reason: str) -> None:
    """Count one DNS datagram dropped without an answer."""
    DNS_DROPPED.labels(reason=reason).inc()


class _Ages:
    """When each source last loaded, and the table generation."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._synced: dict[str, float] = {}
        self._snapshot: float | None = None

    def synced(self, source: str) -> None:
        with self._lock:
            self._synced[source] = self.clock()
        SOURCE_LOADED.labels(source=source).set(1)
        SYNC_AGE.labels(source=source).set_function(
            lambda: self.sync_age(source))

    def sync_age(self, source: str) -> float:
        with self._lock:
            at = self._synced.get(source)
        return math.nan if at is None else self.clock() - at

    def loaded(self, sources: list[str]) -> bool:
        with self._lock:
            return all(s in self._synced for s in sources)

    def snapshot_written(self) -> None:
        with self._lock:
            self._snapshot = self.clock()

    def snapshot_age(self) -> float:
        with self._lock:
            at = self._snapshot
        return math.nan if at is None else self.clock() - at


AGES = _Ages()
SNAPSHOT_AGE.set_function(AGES.snapshot_age)


def source_synced(source: str, generation: int | None = None) -> None:
    """A source has (re)loaded the table; ``generation``: the IPAM one."""
    AGES.synced(source)
    if generation is not None:
        GENERATION.set(generation)


def snapshot_written() -> None:
    """The local snapshot of the table was written (its age restarts)."""
    AGES.snapshot_written()


def watch_table(table) -> None:
    """``vmetal_dhcp4_reservations`` reads ``len(table)`` at each scrape."""
    RESERVATIONS.set_function(lambda: len(table))


# --- DHCPv6 (Kea's pkt6-* statistics)

#: DHCPv6 message types (RFC 8415 7.3) by number, as label values.
DHCP6_TYPES = {1: 'solicit', 2: 'advertise', 3: 'request', 4: 'confirm',
               5: 'renew', 6: 'rebind', 7: 'reply', 8: 'release',
               9: 'decline', 11: 'information_request'}
#: A DHCPv6 message refused before any lookup (RFC 8415 16: wrong or
#: missing server/client identifier, not from a link-local address).
DROP_SCREENED = 'screened'

DHCP6_RECEIVED = prom.Counter(
    'vmetal_dhcp6_packets_received', 'DHCPv6 client messages received, by '
    'message type (Kea pkt6-<type>-received)', ['type'], registry=REGISTRY)
DHCP6_SENT = prom.Counter(
    'vmetal_dhcp6_packets_sent', 'DHCPv6 messages sent, by message type '
    '(Kea pkt6-<type>-sent)', ['type'], registry=REGISTRY)
DHCP6_PARSE_FAILED = prom.Counter(
    'vmetal_dhcp6_parse_failed', 'DHCPv6 packets that could not be parsed '
    '(Kea pkt6-parse-failed)', registry=REGISTRY)
DHCP6_DROPPED = prom.Counter(
    'vmetal_dhcp6_packets_dropped', 'DHCPv6 messages dropped without an '
    'answer, by reason (Kea pkt6-receive-drop)', ['reason'],
    registry=REGISTRY)
RESERVATIONS6 = prom.Gauge(
    'vmetal_dhcp6_reservations', 'IPv6 reservations in the agent\'s table '
    '(all sources)', registry=REGISTRY)

for _t in DHCP6_TYPES.values():
    (DHCP6_SENT if _t in ('advertise', 'reply') else DHCP6_RECEIVED).labels(
        type=_t)
for _r in (DROP_UNKNOWN_MAC, DROP_RELAY_NOT_ALLOWED, DROP_SCREENED):
    DHCP6_DROPPED.labels(reason=_r)


def dhcp6_received(msg_type: int) -> None:
    """Count one parsed DHCPv6 client message."""
    DHCP6_RECEIVED.labels(type=DHCP6_TYPES.get(msg_type, UNKNOWN_TYPE)).inc()


def dhcp6_sent(msg_type: int) -> None:
    """Count one DHCPv6 reply sent."""
    DHCP6_SENT.labels(type=DHCP6_TYPES.get(msg_type, UNKNOWN_TYPE)).inc()


def dhcp6_parse_failed() -> None:
    """Count one DHCPv6 datagram that could not be parsed."""
    DHCP6_PARSE_FAILED.inc()


def dhcp6_dropped(reason: str) -> None:
    """Count one DHCPv6 message dropped without an answer."""
    DHCP6_DROPPED.labels(reason=reason).inc()


def watch_table6(table) -> None:
    """``vmetal_dhcp6_reservations`` reads the IPv6 hosts at each scrape."""
    RESERVATIONS6.set_function(lambda: len(table.by_mac6))
