"""The testnet demo's designs of protocol version 3, added after the demo community
(``node.demo``) so the existing demo stays as it is:

* ``CARE``: guaranteed care-time credits; ``city`` is the guarantor, ``care-org`` an accredited
  organisation with a quota of 100 h; alice and bob are members and care-org credited alice 3 h
  for "visiting Mrs. M". Credits are redeemed only with accredited providers.
* ``LOCAL``: a spend-locally pound issued by ``brx-issuer``; ``corner-shop`` and ``bakery`` are its
  registered businesses; alice and bob bought 20.00 LOCAL each.
* an exchange agreement between the time bank and the LETS network: 1 h = 10.00 LETS, within
  20 h and 200.00 LETS, in force at once: both communities are still run by their steward. HOUR's
  side is proposal ``HOUR-1``, which also hands HOUR to its members (``HOUR_RULES`` of
  ``node.demo``), so everything HOUR decides afterwards is voted on by its members.
"""

from __future__ import annotations

from typing import Any

from protocol.designs.actions import AgreeExchange
from protocol.designs.operations import Accredit, CreditHours, RegisterBusiness
from protocol.designs.terms import Acceptance, CurrencyTerms
from protocol.governance.actions import SetRules
from protocol.governance.operations import Propose
from protocol.governance.rules import GovernanceRules
from protocol.keys import Keypair
from protocol.operations import AdmitMember, CreateCurrency, CurrencyKind, Mint, Operation

DESIGN_WALLETS = ("city", "care-org", "corner-shop", "bakery")
CARE_QUOTA = 10_000  # 100.00 h
HOUR_LIMIT, LETS_LIMIT = 2000, 20_000  # 20.00 h, 200.00 LETS
Step = tuple[Keypair, list[Operation], bytes]


def design_steps(keys: dict[str, Keypair], hour_rules: GovernanceRules) -> list[Step]:
    """The demo's version-3 steps, in order (each one transaction); ``hour_rules``: the members'
    governance HOUR moves to once its steward agreed the exchange."""
    city, org, issuer, steward = keys["city"], keys["care-org"], keys["brx-issuer"], keys["steward"]
    alice, bob = keys["alice"].public_key, keys["bob"].public_key
    care_terms = CurrencyTerms(guaranteed=True, accept=Acceptance.PROVIDERS)
    pound_terms = CurrencyTerms(accept=Acceptance.REGISTERED)
    agree_lets = AgreeExchange("HOUR", 1, 10, LETS_LIMIT, HOUR_LIMIT)  # 1.00 LETS = 0.10 h
    agree_hour = AgreeExchange("LETS", 10, 1, HOUR_LIMIT, LETS_LIMIT)
    return [
        (
            city,
            [CreateCurrency("CARE", CurrencyKind.TIME, 2, (city.public_key,), 1, 0, 0, 0, None, care_terms)],
            b"demo: guaranteed care time",
        ),
        (
            city,
            [
                Accredit("CARE", org.public_key, CARE_QUOTA),
                AdmitMember("CARE", alice, None),
                AdmitMember("CARE", bob, None),
            ],
            b"demo: an accredited care organisation",
        ),
        (org, [CreditHours("CARE", alice, 300, "visiting Mrs. M")], b"demo: 3 h of care"),
        (
            issuer,
            [
                CreateCurrency(
                    "LOCAL", CurrencyKind.ISSUED, 2, (issuer.public_key,), 1, 0, 0, 0, None, pound_terms
                )
            ],
            b"demo: a spend-locally pound",
        ),
        (
            issuer,
            [
                RegisterBusiness(
                    "LOCAL", keys["corner-shop"].public_key, "Corner Shop", "groceries", "5 % off with LOCAL"
                ),
                RegisterBusiness(
                    "LOCAL", keys["bakery"].public_key, "Bakery", "food", "a free roll with 10 LOCAL"
                ),
                Mint("LOCAL", alice, 2000),
                Mint("LOCAL", bob, 2000),
            ],
            b"demo: two local shops",
        ),
        (steward, [Propose("LETS", "exchange with the time bank", b"", (agree_lets,))], b"demo: LETS agrees"),
        (
            steward,
            [
                Propose(
                    "HOUR",
                    "exchange with LETS (1 h = 10 LETS); from now on the members decide",
                    b"",
                    (agree_hour, SetRules(hour_rules)),
                )
            ],
            b"demo: HOUR agrees and its members take over",
        ),
    ]


def design_summary() -> dict[str, Any]:
    """What the demo made, for ``tally testnet up --json`` (``demo.designs``)."""
    return {
        "guaranteed": {
            "currency": "CARE",
            "guarantor": "city",
            "organisation": "care-org",
            "quota": "100.00 h",
        },
        "spend_locally": {
            "currency": "LOCAL",
            "issuer": "brx-issuer",
            "businesses": ["corner-shop", "bakery"],
        },
        "exchange": {
            "a": "HOUR",
            "b": "LETS",
            "rate": "1 h = 10.00 LETS",
            "proposal": "HOUR-1",
            "in_force": True,
        },
    }
