"""Tally's ledger protocol: identities, the canonical codec, transactions and the rules that apply them.

Pure and synchronous: nothing here does I/O, reads a clock or draws randomness, and nothing here
imports trio, libp2p, plyvel, an HTTP library, ``node`` or ``wallet`` (tests/test_layering.py checks).
The same inputs give the same bytes and the same state on every machine.
"""
