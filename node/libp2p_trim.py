"""Keep py-libp2p's unused features out of a node process (about 20 MB of its resident memory).

``import libp2p`` runs the package's ``__init__``, which imports every feature py-libp2p 0.8.1
ships: QUIC (aioquic, pyOpenSSL, service_identity), AutoTLS with its ACME client (requests,
urllib3, httpx), mDNS (zeroconf), UPnP, circuit relay, the Kademlia DHT, bitswap (cbor2),
secio (fastecdsa), TLS, and the SQLite peerstore. Tally uses none of them: its hosts speak TCP +
Noise + yamux + gossipsub (``node.net.compat``). Importing the specific submodules instead does
not help: ``from libp2p.x import y`` runs the package ``__init__`` first, and the host and type
modules import those features at their top (``basic_host`` imports relay, mDNS and ACME;
``custom_types`` imports the QUIC stream).

So before the first libp2p import, :func:`install` puts a finder first on ``sys.meta_path`` that
answers the :data:`UNUSED` modules with a stand-in module instead of running their code. A
stand-in gives any name imported from it as a stand-in class: module-level code that subclasses
it, annotates with it, checks ``isinstance`` against it or lists it in an ``except`` clause
works (matching nothing), while *using* it (calling it, instantiating it) raises
:class:`TrimmedFeatureError` naming the feature. So a code path that needs one of these features
fails loudly instead of silently misbehaving.

The list fits exactly one py-libp2p version (:data:`PINNED_VERSION`, also pinned in
pyproject.toml); with any other version installed, or when libp2p was imported before,
:func:`install` changes nothing and the process imports everything as before.
The node process (``node.node_process``, what ``tally node run`` becomes) installs it first
thing; ``tests/node/test_libp2p_trim.py`` checks in a fresh interpreter that its imports load
none of these modules, and the whole test suite runs with the trim installed
(``tests/conftest.py``), so every path Tally uses is exercised against the stand-ins.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any, NoReturn

PINNED_VERSION = "0.8.1"

UNUSED: tuple[str, ...] = (
    "libp2p.bitswap",  # block exchange (cbor2, blake3 CIDs)
    "libp2p.discovery.mdns",  # local-network discovery (zeroconf)
    "libp2p.discovery.rendezvous",
    "libp2p.discovery.upnp",
    "libp2p.kad_dht",  # the Kademlia DHT and its records
    "libp2p.peer.persistent",  # the SQLite / LevelDB-backed peerstores
    "libp2p.relay",  # circuit relay v2 (and, through it, the DHT)
    "libp2p.security.secio",  # secio (fastecdsa)
    "libp2p.security.tls",  # TLS 1.3 and AutoTLS's ACME client (requests, urllib3, httpx)
    "libp2p.transport.quic",  # QUIC (aioquic, pyOpenSSL, service_identity) ...
    "libp2p.transport.webrtc",
    "libp2p.transport.websocket",
    "libp2p.transport.webtransport",
)
"""Module prefixes a Tally node never needs; each stands for the module and its submodules."""

KEPT: frozenset[str] = frozenset(
    {
        # ... except its exception classes, which the stream code lists in ``except`` clauses
        # and which import nothing heavy.
        "libp2p.transport.quic.exceptions",
    }
)


class TrimmedFeatureError(RuntimeError):
    """A py-libp2p feature Tally does not load was used (see node.libp2p_trim)."""


def _refuse(qualified: str) -> NoReturn:
    raise TrimmedFeatureError(
        f"{qualified} belongs to a py-libp2p feature a Tally node does not load (node/libp2p_trim.py)"
    )


class _StandInMeta(type):
    """The type of stand-in classes: attribute reads give further stand-ins, calls refuse."""

    _qualified: str

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _stand_in_class(f"{cls._qualified}.{name}")

    def __call__(cls, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse(cls._qualified)

    def __getitem__(cls, item: Any) -> _StandInMeta:  # ``StandIn[int]`` in an annotation
        return cls


def _stand_in_class(qualified: str) -> _StandInMeta:
    # An Exception subclass, so that ``except (Real, StandIn):`` stays valid (it never matches).
    name = qualified.rpartition(".")[2]
    return _StandInMeta(name, (Exception,), {"_qualified": qualified, "__module__": __name__})


class _StandInModule(types.ModuleType):
    """A trimmed module: every public name is a stand-in class, created on first access."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        stand_in = _stand_in_class(f"{self.__name__}.{name}")
        setattr(self, name, stand_in)
        return stand_in


class _StandInLoader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return _StandInModule(spec.name, "trimmed by node.libp2p_trim: not loaded")

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing runs: that is the point."""


def is_trimmed(name: str) -> bool:
    """Whether ``name`` is one of the modules (or under one of the packages) in :data:`UNUSED`."""
    if name in KEPT:
        return False
    return any(name == prefix or name.startswith(prefix + ".") for prefix in UNUSED)


class _TrimFinder(importlib.abc.MetaPathFinder):
    """First on ``sys.meta_path``: answers trimmed modules with a stand-in, others with None."""

    def __init__(self) -> None:
        self._loader = _StandInLoader()

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not is_trimmed(fullname):
            return None
        spec = importlib.machinery.ModuleSpec(fullname, self._loader)
        # A trimmed package keeps its real folder as __path__, so a KEPT submodule is found.
        real = importlib.machinery.PathFinder.find_spec(fullname, path)
        if real is not None and real.submodule_search_locations is not None:
            spec.submodule_search_locations = list(real.submodule_search_locations)
        return spec


def installed_version() -> str | None:
    try:
        return version("libp2p")
    except PackageNotFoundError:
        return None


def install() -> bool:
    """Install the finder if it fits (see the module); True when the trim is in effect."""
    if any(isinstance(finder, _TrimFinder) for finder in sys.meta_path):
        return True
    if "libp2p" in sys.modules or installed_version() != PINNED_VERSION:
        return False
    sys.meta_path.insert(0, _TrimFinder())
    _no_dns_over_quic()
    return True


def _no_dns_over_quic() -> None:
    """dnspython (multiaddr's ``/dns`` resolver) loads its DNS-over-QUIC support, and with it
    aioquic (~4 MB), whenever aioquic is installed, as py-libp2p has it installed for QUIC.
    Tally resolves names the ordinary way (the system's resolvers over UDP/TCP), never over
    QUIC; ``force`` is dnspython's own switch for an optional feature."""
    try:
        import dns._features
    except ImportError:  # pragma: no cover - multiaddr depends on dnspython
        return
    dns._features.force("doq", False)
