"""The demo community a fresh testnet starts with.

* ``HOUR``: a time bank (hours, 2 decimals), credit limit 10 h. Its steward ``steward`` started it,
  and in proposal ``HOUR-1`` (passed at once, being a steward's) agreed an exchange with LETS and
  handed HOUR to its members: one member one vote, votes last 3 days, quorum 50 %, majority 50 %;
  the steward still admits newcomers;
* ``LETS``: a mutual-credit currency, steward ``steward``, credit limit 100.00;
* ``BRX``: an issued local currency, issuer ``brx-issuer``;
* wallets ``alice``, ``bob``, ``carol`` admitted to HOUR and LETS, each minted 50.00 BRX;
* one demo payment: alice pays bob 1.50 h for "gardening";
* two listings on the board: bob offers garden help (2 h), carol asks for a lift to the clinic;
* the designs of protocol version 3 (``node.demo_designs``): guaranteed care credits ``CARE``
  (wallets ``city``, ``care-org``), a spend-locally pound ``LOCAL`` (wallets ``corner-shop``,
  ``bakery``) and an exchange agreement between HOUR and LETS, in force;
* one open proposal, ``HOUR-2``: alice proposes a 20 h credit limit for newcomers, bob votes yes.

The network starts at protocol version 1 and moves to the newest version (governance came with
version 2) with its first ledger, every testnet validator being configured to vote for it
(``[upgrades]``); the demo's first steps use only version-1 operations so they land in that ledger.

The wallets are real encrypted keystores under ``$TALLY_HOME/wallets`` protected by the
testnet-only password ``DEMO_PASSWORD`` (printed by ``tally testnet up``; never use it for real
money). The node URL becomes the wallet default, so ``tally send bob 2 HOUR --wallet alice
--wait`` works straight away.
"""

from __future__ import annotations

from typing import Any

import nacl.utils

from node.clock import wall_ms
from node.demo_designs import DESIGN_WALLETS, design_steps, design_summary
from protocol.addresses import encode_account
from protocol.governance.actions import SetDefaultCreditLimit
from protocol.governance.operations import CastVote, Propose, VoteChoice
from protocol.governance.rules import GovernancePolicy, GovernanceRules
from protocol.keys import Keypair
from protocol.listings import Category, ListingBody, ListingKind, build_listing, listing_ref
from protocol.operations import AdmitMember, CreateCurrency, CurrencyKind, Mint, Operation, Payment
from protocol.transactions import TransactionBody, build_transaction
from wallet.client import NodeClient
from wallet.errors import Refused
from wallet.home import Home
from wallet.keystore import encrypt_seed

DEMO_PASSWORD = "tally-testnet-only"
HOUR_RULES = GovernanceRules(GovernancePolicy.MEMBERS, 3 * 24 * 3600, 50, 50)
PAYMENT_STEP = 5  # alice pays bob 1.50 h for "gardening"
MEMBERS = ("alice", "bob", "carol")
OPEN_PROPOSAL = 2  # HOUR-1 is the steward's hand-over (node.demo_designs)
WAIT_S = 30.0


def seed_demo(node_url: str, home: Home) -> dict[str, Any]:
    """Create the demo wallets and community through ``node_url``; returns what was made."""
    names = ("steward", "brx-issuer", *MEMBERS, *DESIGN_WALLETS)
    keys = {name: Keypair(nacl.utils.random(32)) for name in names}
    for name, keypair in keys.items():
        # the demo's password is printed for everyone: its keystores may be fast to open in tests
        home.save_wallet(name, encrypt_seed(keypair.seed, DEMO_PASSWORD, allow_weak=True), overwrite=True)
    home.set_config("node", "url", node_url)
    home.set_config("wallet", "default", "alice")
    client = NodeClient(node_url)
    try:
        network = client.network_id()
        steward, issuer = keys["steward"], keys["brx-issuer"]
        members = [keys[name].public_key for name in MEMBERS]
        steps: list[tuple[Keypair, list[Operation], bytes]] = [
            (
                steward,
                [CreateCurrency("LETS", CurrencyKind.MUTUAL, 2, (steward.public_key,), 1, 10_000)],
                b"demo: a LETS",
            ),
            (
                issuer,
                [CreateCurrency("BRX", CurrencyKind.ISSUED, 2, (issuer.public_key,), 1, 0)],
                b"demo: BRX",
            ),
            (
                steward,
                [CreateCurrency("HOUR", CurrencyKind.TIME, 2, (steward.public_key,), 1, 1000)],
                b"demo: a time bank",
            ),
            (
                steward,
                [AdmitMember(code, member, None) for code in ("HOUR", "LETS") for member in members],
                b"demo: welcome",
            ),
            (issuer, [Mint("BRX", member, 5000) for member in members], b"demo: BRX for everyone"),
            (keys["alice"], [Payment(keys["bob"].public_key, "HOUR", 150)], b"gardening"),
            # protocol version 3 (node.demo_designs); HOUR's steward agrees the exchange with LETS and
            # hands HOUR to its members in one proposal, HOUR-1
            *design_steps(keys, HOUR_RULES),
            (
                keys["alice"],
                [Propose("HOUR", "20 h of credit for newcomers", b"", (SetDefaultCreditLimit(2000),))],
                b"demo: a proposal",
            ),
            (keys["bob"], [CastVote("HOUR", OPEN_PROPOSAL, VoteChoice.YES)], b"demo: a vote"),
        ]
        next_seq: dict[bytes, int] = {}
        results = []
        for source, operations, memo in steps:
            seq = next_seq.get(source.public_key) or client.account(source.public_key).sequence + 1
            next_seq[source.public_key] = seq + 1
            latest = client.latest_ledger().seq
            body = TransactionBody(source.public_key, seq, latest + 1000, memo, tuple(operations))
            result = client.submit(build_transaction(network, body, (source,)), wait_s=WAIT_S)
            if result.status != "applied":
                raise Refused(
                    f"demo step {memo.decode()!r} was not applied: {result.status} "
                    f"{result.code} {result.explanation or ''}".strip()
                )
            results.append(result)
        listings = _post_listings(client, network, keys)
    finally:
        client.close()
    return {
        "wallets": {name: encode_account(k.public_key) for name, k in keys.items()},
        "currencies": ["HOUR", "LETS", "BRX", "CARE", "LOCAL"],
        "demo_payment": {
            "from": "alice",
            "to": "bob",
            "amount": "1.50 h",
            "memo": "gardening",
            "hash": results[PAYMENT_STEP].hash,
            "ledger": results[PAYMENT_STEP].ledger,
        },
        "listings": listings,
        "proposal": f"HOUR-{OPEN_PROPOSAL}",
        "designs": design_summary(),
    }


def _post_listings(client: NodeClient, network: bytes, keys: dict[str, Keypair]) -> list[dict[str, str]]:
    """Two listings on the HOUR board, so that the board has something to show."""
    now, day = wall_ms(), 86_400_000
    posts = [
        ("bob", ListingKind.OFFER, Category.GARDEN, "fruit trees", "Garden help", "Pruning and weeding, Saturdays.", 200, 30),
        ("carol", ListingKind.REQUEST, Category.TRANSPORT, "clinic", "A lift to the clinic", "Tuesday morning, back by noon.", 100, 14),
    ]  # fmt: skip
    made = []
    for author, kind, category, topic, title, text, amount, days in posts:
        body = ListingBody(
            kind, keys[author].public_key, "HOUR", category, topic, title, text, amount, now, now + days * day
        )
        listing = build_listing(network, body, keys[author])
        client.board_post(listing.encode())
        made.append({"ref": listing_ref(listing.id), "kind": kind.value, "title": title, "author": author})
    return made
