"""The ``tally`` command line (``node.cli.app``, the root) and the node's own sub-commands.

| module | commands |
|---|---|
| ``app`` | the root: ``--version``, registration of every sub-command (the wallet's through ``wallet.cli.register``) |
| ``node_cmd`` | ``tally node init|run`` |
| ``testnet`` | ``tally testnet up|status|logs|down`` (seeds the demo community of ``node.demo``) |
| ``sim`` | ``tally sim`` (the consensus simulator) |
| ``quorum`` | ``tally check-quorum`` |
"""
