"""Where the agent's HTTP proxy may send a request (pure).

The proxy is not an open proxy: it knows two upstreams, Ironic's HTTP boot
server and the Ironic API, both from configuration, and only the request
path chooses between them. Absolute URIs, ``CONNECT``, dot segments and
every API path outside a fixed allow-list are refused; the Host header is
never used for routing.
"""

import dataclasses
import re
import urllib.parse

BOOT = 'boot'
API = 'api'

_NODE = r'[A-Za-z0-9._~-]{1,255}'

# (path regex, allowed methods) of the API endpoints the ramdisk uses:
# version discovery, lookup, heartbeat and inspection data.
API_ALLOW = (
    (re.compile(r'^/$'), ('GET', 'HEAD')),
    (re.compile(r'^/v1/?$'), ('GET', 'HEAD')),
    (re.compile(r'^/v1/lookup/?$'), ('GET', 'HEAD')),
    (re.compile(r'^/v1/heartbeat/%s/?$' % _NODE), ('POST',)),
    (re.compile(r'^/v1/continue_inspection/?$'), ('POST',)),
)

BOOT_METHODS = ('GET', 'HEAD')

# Headers that concern one connection only (RFC 9110 section 7.6.1), plus
# those the proxy sets itself.
HOP_BY_HOP = frozenset((
    'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization',
    'proxy-connection', 'te', 'trailer', 'trailers', 'transfer-encoding',
    'upgrade',
))
_SET_BY_PROXY = frozenset((
    'host', 'content-length', 'expect', 'forwarded', 'x-forwarded-for',
    'x-forwarded-host', 'x-forwarded-proto', 'x-real-ip',
))
_HOST_RE = re.compile(r'^[A-Za-z0-9.\-\[\]:]{1,255}$')


@dataclasses.dataclass(frozen=True)
class Route:
    """A request the proxy forwards: to ``upstream`` at ``target``."""

    upstream: str
    target: str


@dataclasses.dataclass(frozen=True)
class Refusal:
    """A request the proxy answers itself with ``status``."""

    status: int
    reason: str


@dataclasses.dataclass(frozen=True)
class Upstream:
    """A configured upstream: scheme, host, port and base path."""

    scheme: str
    host: str
    port: int
    base: str

    @property
    def netloc(self) -> str:
        default = 443 if self.scheme == 'https' else 80
        host = '[%s]' % self.host if ':' in self.host else self.host
        if self.port == default:
            return host
        return '%s:%d' % (host, self.port)


def parse_upstream(url: str) -> Upstream:
    """Parse a configured upstream URL.

    :raises ValueError: if it is not an absolute http(s) URL with a host.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ('http', 'https') or not parts.hostname:
        raise ValueError('"%s" is not an http:// or https:// URL' % url)
    if parts.query or parts.fragment:
        raise ValueError('"%s" may not have a query or fragment' % url)
    port = parts.port or (443 if parts.scheme == 'https' else 80)
    return Upstream(parts.scheme, parts.hostname, port,
                    parts.path.rstrip('/'))


def bad_path(path: str) -> str | None:
    """Why an origin-form path is refused, or None."""
    if not path.startswith('/'):
        return 'not an origin-form request target'
    decoded = urllib.parse.unquote(path)
    if '\0' in decoded or '\\' in decoded:
        return 'NUL or backslash in path'
    segments = decoded.split('/')
    if '..' in segments or '.' in segments:
        return 'dot segment in path'
    if any(ord(c) < 0x20 or ord(c) == 0x7f for c in decoded):
        return 'control character in path'
    return None


# Characters sent as they are in a forwarded path; the rest is
# percent-encoded (RFC 3986 pchar and "/", without ";").
_PATH_SAFE = "/!$&'()*+,=:@"
_ENCODED_SEPARATOR_RE = re.compile(r'%(?:2[fF]|5[cC]|00)')
_TARGET_RE = re.compile(r"^[\x21-\x7e]+$")


def normalize(path: str) -> str | Refusal:
    """The decoded, normalized form of an origin-form path.

    Percent-encoding is decoded (UTF-8), runs of "/" collapse to one, and
    the result is encoded again in one canonical way: routing decides on
    it and it is what goes upstream, so no upstream can read the path
    differently. Encoded slashes, backslashes and NULs, path parameters
    (";"), dot segments and control characters are refused.

    :returns: the normalized path, or a :class:`Refusal` (400).
    """
    if ';' in path:
        return Refusal(400, 'path parameters are not accepted')
    if _ENCODED_SEPARATOR_RE.search(path):
        return Refusal(400, 'encoded slash, backslash or NUL in path')
    bad = bad_path(path)
    if bad:
        return Refusal(400, bad)
    try:
        decoded = urllib.parse.unquote(path, errors='strict')
    except UnicodeDecodeError:
        return Refusal(400, 'path is not UTF-8')
    decoded = re.sub('/{2,}', '/', decoded)
    return urllib.parse.quote(decoded, safe=_PATH_SAFE)


def _is_api_path(path: str) -> bool:
    first = path.split('/', 2)[1]
    return path == '/' or first.lower() == 'v1'


def route(method: str, target: str, api_configured: bool = True,
          boot_configured: bool = True) -> Route | Refusal:
    """Decide where a request goes.

    :param method: the request method.
    :param target: the request target as sent by the client.
    :param api_configured: whether an Ironic API URL is configured.
    :param boot_configured: whether an HTTP boot server URL is configured.
    :returns: a :class:`Route` whose target is the normalized path (see
        :func:`normalize`) with the query as received, or a
        :class:`Refusal` with the status to answer.
    """
    if method == 'CONNECT':
        return Refusal(405, 'CONNECT is not supported')
    if not target.startswith('/'):
        return Refusal(400, 'only origin-form request targets are served')
    if not _TARGET_RE.match(target) or '#' in target:
        return Refusal(400, 'invalid character in request target')
    raw, sep, query = target.partition('?')
    path = normalize(raw)
    if isinstance(path, Refusal):
        return path
    forward = path + sep + query
    if _is_api_path(path):
        for regex, methods in API_ALLOW:
            if regex.match(path):
                if not api_configured:
                    return Refusal(404, 'no Ironic API is configured')
                if method not in methods:
                    return Refusal(405, 'method %s not allowed on %s'
                                   % (method, path))
                return Route(API, forward)
        return Refusal(403, 'API path %s is not forwarded' % path)
    if not boot_configured:
        return Refusal(404, 'no HTTP boot server is configured')
    if method not in BOOT_METHODS:
        return Refusal(405, 'method %s not allowed on the HTTP boot server'
                       % method)
    return Route(BOOT, forward)


def upstream_target(upstream: Upstream, target: str) -> str:
    """The request target to send upstream (base path prepended)."""
    return upstream.base + target


def request_headers(headers: list[tuple[str, str]], client_ip: str,
                    upstream: Upstream) -> list[tuple[str, str]]:
    """The headers to send upstream.

    Hop-by-hop headers (and those the Connection header names) are dropped,
    Host is the upstream's, and X-Forwarded-For is the client's address: a
    client's own X-Forwarded-For is not trusted and is replaced.
    """
    drop = set(HOP_BY_HOP) | _SET_BY_PROXY
    client_host = None
    for name, value in headers:
        lower = name.lower()
        if lower == 'connection':
            drop.update(t.strip().lower() for t in value.split(','))
        elif lower == 'host':
            client_host = value.strip()
    out = [('Host', upstream.netloc)]
    out += [(n, v) for n, v in headers if n.lower() not in drop]
    out.append(('X-Forwarded-For', client_ip))
    out.append(('X-Forwarded-Proto', 'http'))
    if client_host and _HOST_RE.match(client_host):
        out.append(('X-Forwarded-Host', client_host))
    return out


def response_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The upstream response headers passed to the client.

    Hop-by-hop headers are dropped (the proxy frames the body itself);
    everything else, Content-Length, Content-Range, Accept-Ranges, ETag,
    Last-Modified, Content-Type and the rest, passes unchanged.
    """
    drop = set(HOP_BY_HOP)
    for name, value in headers:
        if name.lower() == 'connection':
            drop.update(t.strip().lower() for t in value.split(','))
    return [(n, v) for n, v in headers if n.lower() not in drop]
