"""DHCPv6 network boot (RFC 5970): the Boot File URL a client gets (pure).

What the client says about itself:

* User Class (15) holding ``iPXE``: iPXE, which gets the iPXE script URL
  (Ironic's ``tag:ipxe6,59``);
* Vendor Class (16) data starting with ``HTTPClient``: UEFI HTTP boot,
  which gets the HTTP boot URL, and the vendor class echoed (the UEFI
  specification, 24.7.3: the client only accepts an offer that carries
  it);
* Vendor Class ``PXEClient`` or only a Client Architecture Type (61):
  a UEFI PXE ROM, which gets ``tftp://[server]/file``, the file chosen by
  the architecture (or the node's boot file: Ironic's ``tag:!ipxe6,59``).

The host's :class:`BootConfig` is already merged (the node's boot profile
over the agent's IPv6 defaults, :func:`~.hosts.boot6`). Decisions are
memoised per (boot config, kind, arch), so equal inputs share one
encoded option string.
"""

from __future__ import annotations

from vmetal_ironic.agent.dhcp import netboot as netboot4
from vmetal_ironic.agent.dhcp6 import codec
from vmetal_ironic.agent.sources.reservations import BootConfig

NONE = netboot4.NONE
PXE = netboot4.PXE
IPXE = netboot4.IPXE
HTTP = netboot4.HTTP

#: The vendor class an HTTP boot client must see echoed: enterprise 343
#: (Intel, as EDK2 sends it) and one item "HTTPClient".
HTTP_VENDOR_CLASS = (b'\x00\x00\x01\x57' + len(netboot4.HTTP_CLIENT)
                     .to_bytes(2, 'big') + netboot4.HTTP_CLIENT)


def classify(msg: codec.Message) -> tuple[int, int | None]:
    """(client kind, architecture or None) of a message."""
    arch = codec.client_arch(msg)
    uc = msg.options.get(codec.OPT_USER_CLASS)
    if uc is not None and any(i.startswith(b'iPXE')
                              for i in codec.list_items(uc)):
        return IPXE, arch
    for vc in msg.vendor_classes:
        for item in codec.list_items(vc[4:]):
            if item.startswith(netboot4.HTTP_CLIENT):
                return HTTP, arch
            if item.startswith(netboot4.PXE_CLIENT):
                return PXE, arch
    if arch is not None:
        return PXE, arch
    return NONE, None


def boot_options(boot: BootConfig, kind: int, arch: int | None) -> bytes:
    """The encoded boot options for a client kind (b'' for none)."""
    if kind == NONE:
        return b''
    if kind == IPXE:
        url = boot.ipxe_script_url
        return codec.opt(codec.OPT_BOOTFILE_URL, url.encode()) if url \
            else b''
    if kind == HTTP:
        url = boot.http_boot_url
        if not url:
            return b''
        return (codec.opt(codec.OPT_BOOTFILE_URL, url.encode())
                + codec.opt(codec.OPT_VENDOR_CLASS, HTTP_VENDOR_CLASS))
    name: str | None
    if boot.pxe_bootfile:
        name = boot.pxe_bootfile
    elif arch in netboot4.UEFI_X86_ARCHES:
        name = boot.uefi_bootfile
    elif arch in netboot4.ARM_ARCHES:
        name = boot.arm64_bootfile
    else:
        name = boot.bios_bootfile
    if not name:
        return b''
    if '://' not in name:
        if not boot.tftp_server:
            return b''
        name = 'tftp://[%s]/%s' % (boot.tftp_server, name.lstrip('/'))
    return codec.opt(codec.OPT_BOOTFILE_URL, name.encode())


class Decider:
    """Memoises :func:`boot_options` per (boot config, kind, arch)."""

    MAX_ENTRIES = 4096

    def __init__(self, all_clients: bool = False) -> None:
        self.all_clients = all_clients
        self._memo: dict[tuple, bytes] = {}

    def __call__(self, boot: BootConfig, msg: codec.Message) -> bytes:
        kind, arch = classify(msg)
        if kind == NONE and self.all_clients:
            kind = PXE
        key = (boot, kind, arch)
        try:
            return self._memo[key]
        except KeyError:
            pass
        if len(self._memo) >= self.MAX_ENTRIES:
            self._memo.clear()
        value = self._memo[key] = boot_options(boot, kind, arch)
        return value


def defaults(server_address6: str | None, conf_group) -> dict[str, str | None]:
    """The agent's IPv6 boot defaults from ``[dhcp_agent]``.

    As over IPv4, iPXE is sent to Ironic's ``boot.ipxe`` through the
    agent's own proxy when no URL is configured, here on its IPv6 address
    (``http://[server_address6]:<http_port>/boot.ipxe``); UEFI HTTP boot
    to the UEFI boot file the same way; UEFI PXE to
    ``tftp://[server_address6]/<file>`` (built per client by
    :func:`boot_options`).

    :param server_address6: the agent's IPv6 address on the segment (the
        TFTP server of PXE URLs and the proxy's address), or None: no PXE
        or proxy URL by default.
    """
    g = conf_group
    uefi = g.uefi_bootfile
    return {'bios_bootfile': g.bios_bootfile,
            'uefi_bootfile': uefi,
            'arm64_bootfile': g.arm64_bootfile,
            'ipxe_script_url': g.dhcpv6_ipxe_script_url
            or proxy_url6(server_address6, g, '/boot.ipxe'),
            'http_boot_url': g.dhcpv6_http_boot_url
            or (proxy_url6(server_address6, g, '/' + uefi.lstrip('/'))
                if uefi and '://' not in uefi else None),
            'tftp_server': g.dhcpv6_tftp_server or server_address6}


def proxy_url6(address: str | None, conf_group, path: str) -> str | None:
    """``http://[address]:<http_port><path>`` when the proxy serves it.

    :returns: None when the proxy is off, has no HTTP boot server, or
        ``address`` is None.
    """
    g = conf_group
    if not address or not g.http_proxy_enabled or not g.ironic_http_url:
        return None
    return 'http://[%s]:%d%s' % (address, g.http_port, path)
