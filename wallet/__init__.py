"""The community member's side of Tally: keys, the encrypted keystore, the node client and the CLI.

``wallet.cli`` is also the composition root of the single ``tally`` command: its ``node``,
``testnet``, ``sim`` and ``check-quorum`` sub-commands call into ``node`` and ``consensus`` lazily,
so wallet commands start fast.
"""
