"""Which address of this host other hosts can reach.

A scheduler must advertise an address that workers on other machines can
connect to.  ``gethostbyname(gethostname())`` is often a loopback address
(Debian maps the hostname to 127.0.1.1), so instead:

1. ``--contact-address`` / ``contact_address=`` when given (NAT, a DNS name);
2. the address of ``--interface`` when given;
3. ``--host`` when it names a concrete address;
4. the IPv4 address of the interface that carries the default route, read
   from the kernel's routing table (``/proc/net/route``): no packet is sent;
5. the first non-loopback interface that is up;
6. 127.0.0.1 (a machine with no network: only local workers can join).
"""
from __future__ import annotations

import socket

__all__ = ["interface_address", "routable_address", "default_route_interface", "listen_host", "address_towards",
           "advertised_host"]

_WILDCARD = ("", "0.0.0.0", "::")


def _ipv4_addresses() -> dict[str, list[str]]:
    import psutil

    out: dict[str, list[str]] = {}
    for name, addrs in psutil.net_if_addrs().items():
        ips = [a.address for a in addrs if a.family == socket.AF_INET]
        if ips:
            out[name] = ips
    return out


def interface_address(interface: str) -> str:
    """The IPv4 address of network interface ``interface`` (e.g. ``'eth0'``, ``'ib0'``)."""
    addrs = _ipv4_addresses()
    if interface not in addrs:
        known = ", ".join(f"{n} ({a[0]})" for n, a in sorted(addrs.items())) or "none"
        raise ValueError(f"no IPv4 address on interface {interface!r}; interfaces here: {known}")
    return addrs[interface][0]


def default_route_interface(route_table: str = "/proc/net/route") -> str | None:
    """Name of the interface of the IPv4 default route, read from the routing table (no traffic)."""
    try:
        with open(route_table) as f:
            lines = f.read().splitlines()[1:]
    except OSError:
        return None
    best: tuple[int, str] | None = None
    for line in lines:
        fields = line.split()
        if len(fields) < 8:
            continue
        iface, dest, flags, metric, mask = fields[0], fields[1], int(fields[3], 16), int(fields[6]), fields[7]
        if dest == "00000000" and mask == "00000000" and flags & 0x1:  # default route, RTF_UP
            if best is None or metric < best[0]:
                best = (metric, iface)
    return best[1] if best else None


def _is_up(name: str) -> bool:
    try:
        import psutil

        st = psutil.net_if_stats().get(name)
        return st is None or st.isup
    except Exception:
        return True


def routable_address() -> str:
    """An IPv4 address of this host that other hosts can reach (see the module docstring)."""
    addrs = _ipv4_addresses()
    iface = default_route_interface()
    if iface and iface in addrs:
        return addrs[iface][0]
    for name, ips in sorted(addrs.items()):
        for ip in ips:
            if not ip.startswith("127.") and _is_up(name):
                return ip
    return "127.0.0.1"


def listen_host(host: str | None = None, interface: str | None = None) -> str:
    """The host to bind: the interface's address, ``host``, or every interface ('')."""
    if interface:
        return interface_address(interface)
    return host or ""


def advertised_host(host: str | None = None, interface: str | None = None,
                    contact_address: str | None = None) -> str:
    """The host name or IP others should connect to (without scheme or port)."""
    if contact_address:
        return contact_address
    if interface:
        return interface_address(interface)
    if host and host not in _WILDCARD:
        return host
    return routable_address()


def address_towards(peer_host: str) -> str | None:
    """The local IPv4 address the kernel would use to reach ``peer_host``.

    A UDP ``connect`` only picks a route; it sends nothing.  None when there is
    no route (or ``peer_host`` does not resolve).
    """
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect((peer_host, 9))
        return s.getsockname()[0]
    except OSError:
        return None
    finally:
        s.close()
