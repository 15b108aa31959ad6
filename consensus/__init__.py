"""Federated Byzantine agreement: the Stellar Consensus Protocol as a sans-IO state machine.

Pure and synchronous: time, timers, randomness and value semantics come from the caller (a ``Driver``
and explicit ``now`` arguments); effects are returned as values. Values are opaque bytes here.
Nothing in this package imports trio, libp2p, plyvel, an HTTP library, ``node`` or ``wallet``.
"""
