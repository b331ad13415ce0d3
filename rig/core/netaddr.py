"""Listen addresses: which address a rig party binds, and how it appears in a URL.

Every party listens on 127.0.0.1 unless the topology says otherwise (docs/harness.md,
"Real kiosks on the network"). A listen address is an IP address or a DNS name that
resolves to one; it must belong to this machine, which is checked by binding a socket to
it (nothing is sent anywhere).
"""

from __future__ import annotations

import errno
import ipaddress
import socket

#: where every party listens unless the topology names another address
DEFAULT_LISTEN = "127.0.0.1"
#: the names every server certificate of the rig carries (the loopback ones)
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


class AddressError(ValueError):
    """A listen address this machine cannot bind."""


def ip_or_none(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address when `host` is an IP literal, else None (a DNS name)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: an address that never leaves this machine."""
    address = ip_or_none(host)
    return host == "localhost" if address is None else address.is_loopback


def url_host(host: str) -> str:
    """`host` as it goes between `scheme://` and `:port` (IPv6 literals in brackets)."""
    address = ip_or_none(host)
    return f"[{host}]" if address is not None and address.version == 6 else host


def check_local(host: str) -> str:
    """`host` unchanged when a server on this machine can listen on it; else AddressError.

    A DNS name must resolve (here), and every address it resolves to must be bindable.
    """
    if not host or host != host.strip():
        raise AddressError(f"{host!r} is not an address")
    try:
        infos = socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise AddressError(f"{host} does not resolve on this machine ({exc})") from exc
    for family, kind, proto, _, sockaddr in infos:
        with socket.socket(family, kind, proto) as probe:
            try:
                probe.bind(sockaddr)
            except OSError as exc:
                if exc.errno == errno.EADDRNOTAVAIL:
                    named = host if host == sockaddr[0] else f"{host} ({sockaddr[0]})"
                    raise AddressError(
                        f"{named} is not an address of this machine: a party can only "
                        "listen on one of its own interfaces"
                    ) from exc
                raise AddressError(f"{host}: cannot listen there ({exc.strerror})") from exc
    return host
