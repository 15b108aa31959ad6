"""The community member's side of Tally: keys, the encrypted keystore, the node client and the
wallet commands. It talks to a node over HTTP only and imports neither ``node`` nor ``consensus``;
the ``tally`` root command (``node.cli.app``) registers the wallet's commands through
``wallet.cli.register``.
"""
