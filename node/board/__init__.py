"""The offers and requests board: listings members post for a currency, kept off-ledger.

* ``board``: the listings a node holds and the rules that admit them (membership on the current
  ledger, caps, rate, expiry, withdrawals);
* ``gossip``: listings to and from peers on their own gossip topic, with their own verdicts;
* ``views``: their JSON shape and the payments linked to them (shared by the API and the pages).

The format itself is pure: ``protocol.listings``. Storage: ``node.storage.board``.
"""
