"""The addresses this node tells others to dial: never ``0.0.0.0``, ``::`` or port 0.

Configured ``[network] announce`` addresses win (behind NAT only the operator knows the public
address). Without them, a listen address that names one host is announced as bound; one that
listens on every interface is announced as this machine's own interface addresses (loopback only
when there is nothing else), which is right on a machine with a public address and a fair guess
elsewhere. Every address carries the node's ``/p2p/`` peer id.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence

import psutil

from node.netaddr import MultiaddrError, TcpAddress, parse_address


def announced_addresses(announce: Sequence[str], bound: Sequence[str], peer_id: str) -> list[str]:
    """What to announce, given the configured ``announce`` and the ``bound`` listen multiaddrs."""
    found: list[TcpAddress] = []
    if announce:
        found = [parse_address(text).with_peer(peer_id) for text in announce]
    for text in () if announce else bound:
        try:
            address = parse_address(text).with_peer(peer_id)
        except MultiaddrError:
            continue
        if address.concrete:
            found.append(address)
        elif address.unspecified and address.port:
            kind = address.kind
            found += [TcpAddress(kind, ip, address.port, peer_id) for ip in interface_addresses(kind)]
    return list(dict.fromkeys(str(a) for a in found))


def interface_addresses(kind: str) -> list[str]:
    """This machine's ``ip4`` or ``ip6`` interface addresses: link-local ones never (they need a
    zone), loopback ones only when there is nothing else."""
    family = socket.AF_INET if kind == "ip4" else socket.AF_INET6
    routable, loopback = set(), set()
    for entries in psutil.net_if_addrs().values():
        for entry in entries:
            if entry.family != family:
                continue
            try:
                ip = ipaddress.ip_address(entry.address.split("%", 1)[0])
            except ValueError:
                continue
            if ip.is_loopback:
                loopback.add(str(ip))
            elif not ip.is_link_local:
                routable.add(str(ip))
    return sorted(routable or loopback)
