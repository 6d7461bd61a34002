"""Network boot decision: which boot options a client gets (pure).

:func:`classify` reads what the client says about itself (RFC 4578
option 93, vendor class 60, user class 77, iPXE's option 175);
:func:`decide` combines that with the host's :class:`BootConfig` (already
merged: the node's boot profile from Ironic over the reservation's fields
over the agent's defaults) into a :class:`Decision`. Decisions are
memoised by :class:`Decider`, so equal inputs give the same object and the
reply-option cache can key on its identity.
"""

from __future__ import annotations

from vmetal_ironic.agent.dhcp import codec
from vmetal_ironic.agent.sources.reservations import BootConfig

# Client kinds.
NONE = 0        # not network booting: no boot options
PXE = 1         # PXE ROM (vendor class PXEClient, or only option 93)
IPXE = 2        # iPXE (user class "iPXE" or option 175)
HTTP = 3        # UEFI HTTP boot (vendor class HTTPClient)

UEFI_X86_ARCHES = frozenset((6, 7, 9))
ARM_ARCHES = frozenset((10, 11))

PXE_CLIENT = b'PXEClient'
HTTP_CLIENT = b'HTTPClient'
# PXE vendor options (option 43): discovery control = 8, "use the boot
# file, skip PXE boot server discovery".
PXE_VENDOR_OPTIONS = b'\x06\x01\x08\xff'


def classify(options: dict[int, bytes]) -> tuple[int, int | None]:
    """What kind of network boot client sent these options.

    :returns: (kind, architecture or None).
    """
    arch = codec.client_arch(options)
    user_class = options.get(codec.OPT_USER_CLASS)
    if (user_class is not None and b'iPXE' in user_class) \
            or codec.OPT_IPXE_ENCAP in options:
        return IPXE, arch
    vendor = options.get(codec.OPT_VENDOR_CLASS)
    if vendor is not None:
        if vendor.startswith(HTTP_CLIENT):
            return HTTP, arch
        if vendor.startswith(PXE_CLIENT):
            return PXE, arch
    if arch is not None:
        return PXE, arch
    return NONE, None


class Decision:
    """Boot options for one reply (identity-hashed, memoised)."""

    __slots__ = ('file', 'siaddr', 'tftp_name', 'vendor_class',
                 'pxe_vendor', '__weakref__')

    def __init__(self, file: bytes | None, siaddr: bytes,
                 tftp_name: bytes | None, vendor_class: bytes | None,
                 pxe_vendor: bool) -> None:
        self.file = file                  # option 67 (and file field)
        self.siaddr = siaddr              # next-server
        self.tftp_name = tftp_name        # option 66
        self.vendor_class = vendor_class  # option 60 echoed
        self.pxe_vendor = pxe_vendor      # option 43 for PXE ROMs

    def __repr__(self) -> str:
        return ('Decision(file=%r, siaddr=%r, tftp=%r, vendor=%r)'
                % (self.file, self.siaddr, self.tftp_name, self.vendor_class))


def decide(boot: BootConfig, kind: int, arch: int | None,
           default_next_server: str, pxe_vendor_class: bool = False
           ) -> Decision | None:
    """The boot options for a client, or None for no boot options.

    :param boot: the host's merged boot settings.
    :param kind: from :func:`classify`; NONE gets no boot options.
    :param arch: client architecture (option 93) or None.
    :param default_next_server: the agent's next-server when ``boot``
        names no TFTP server.
    :param pxe_vendor_class: the client sent vendor class PXEClient (it is
        echoed, with option 43).
    """
    if kind == NONE:
        return None
    next_server = boot.tftp_server or default_next_server
    siaddr = _inet(next_server)
    if kind == IPXE:
        url = boot.ipxe_script_url
        return Decision(_b(url), siaddr, None, None, False)
    if kind == HTTP:
        return Decision(_b(boot.http_boot_url), siaddr, None, HTTP_CLIENT,
                        False)
    file: str | None
    if boot.pxe_bootfile:
        file = boot.pxe_bootfile
    elif arch in UEFI_X86_ARCHES:
        file = boot.uefi_bootfile
    elif arch in ARM_ARCHES:
        file = boot.arm64_bootfile
    else:
        file = boot.bios_bootfile
    return Decision(_b(file), siaddr, next_server.encode(),
                    PXE_CLIENT if pxe_vendor_class else None,
                    pxe_vendor_class)


class Decider:
    """Memoises :func:`decide` per (boot config, client kind, arch)."""

    MAX_ENTRIES = 4096

    def __init__(self, default_next_server: str,
                 all_clients: bool = False) -> None:
        self.default_next_server = default_next_server
        self.all_clients = all_clients
        self._memo: dict[tuple, Decision | None] = {}

    def __call__(self, boot: BootConfig,
                 options: dict[int, bytes]) -> Decision | None:
        """The decision for a host's boot config and a client's options."""
        kind, arch = classify(options)
        if kind == NONE and self.all_clients:
            kind = PXE
        vendor = options.get(codec.OPT_VENDOR_CLASS)
        pxe_vc = kind == PXE and vendor is not None \
            and vendor.startswith(PXE_CLIENT)
        key = (boot, kind, arch, pxe_vc)
        try:
            return self._memo[key]
        except KeyError:
            pass
        if len(self._memo) >= self.MAX_ENTRIES:
            self._memo.clear()
        result = self._memo[key] = decide(
            boot, kind, arch, self.default_next_server, pxe_vc)
        return result


def _b(value: str | None) -> bytes | None:
    return value.encode() if value else None


def _inet(addr: str) -> bytes:
    parts = addr.split('.')
    if len(parts) != 4:
        raise ValueError('not an IPv4 address: %s' % addr)
    return bytes(int(p) for p in parts)
