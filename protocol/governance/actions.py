"""What a proposal may do: one or more actions, run atomically when it passes.

Each action is a frozen dataclass with a canonical encoding ``[action_code, field, …]``. Checks
come in two layers, as for operations: ``action_well_formed`` is state-free (its failure makes the
transaction ``malformed``); ``conflicting`` finds two actions that change the same thing (the
proposal is refused with ``conflicting_actions``); whether an action can run against the state
is ``protocol.governance.execute``'s business, at creation (dry run) and at execution.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import assert_never

from protocol import codec
from protocol.designs.actions import (
    DESIGN_ACTION_DECODERS,
    AgreeExchange,
    DelistBusiness,
    DesignAction,
    ListBusiness,
    SetAccreditation,
    design_action_well_formed,
    encode_design_action,
)
from protocol.errors import DecodeError
from protocol.fields import MAX_STEWARDS, decode_amount, decode_key, stewards_well_formed
from protocol.governance.fund import fund_address
from protocol.governance.rules import GovernanceRules, decode_rules, encode_rules

MAX_ACTIONS = 8
MAX_RATE_PPM = 1_000_000  # decoding bound; the governed maxima are in protocol.governance.execute


@dataclass(frozen=True, slots=True)
class SetDefaultCreditLimit:
    """The credit limit newcomers get from now on (mutual and time currencies)."""

    limit: int


@dataclass(frozen=True, slots=True)
class SetMemberCreditLimit:
    """One member's credit limit. Lowering it below their debt is allowed: the debt may then only
    shrink."""

    member: bytes
    limit: int


@dataclass(frozen=True, slots=True)
class Admit:
    """Admit a newcomer (mutual and time currencies); ``None`` = the default credit limit."""

    member: bytes
    credit_limit: int | None = None


@dataclass(frozen=True, slots=True)
class Reinstate:
    """Lift a suspension or an expulsion: the account is a member (or holder) in good standing again."""

    member: bytes


@dataclass(frozen=True, slots=True)
class Suspend:
    """Freeze a member: they keep their balance but cannot pay, be paid, vote or vouch."""

    member: bytes


@dataclass(frozen=True, slots=True)
class Expel:
    """Expel a member: their balance, credit or debt, moves to the commons fund."""

    member: bytes


@dataclass(frozen=True, slots=True)
class SetStewards:
    """Replace the stewards and how many of them must sign."""

    stewards: tuple[bytes, ...]
    threshold: int


@dataclass(frozen=True, slots=True)
class SetRules:
    """Change the governance policy, its voting parameters or the admission policy."""

    rules: GovernanceRules


@dataclass(frozen=True, slots=True)
class SetDemurrage:
    """The yearly demurrage rate on positive balances, in parts per million (0 = none)."""

    rate_ppm: int


@dataclass(frozen=True, slots=True)
class SetLevy:
    """The levy on each payment, paid by the payer to the fund, in parts per million (0 = none)."""

    rate_ppm: int


@dataclass(frozen=True, slots=True)
class SetMaxBalance:
    """The ceiling on any one balance (0 = none); existing balances above it only may not grow."""

    max_balance: int


@dataclass(frozen=True, slots=True)
class SetFundCreditLimit:
    """How far the commons fund may go below zero when it pays out (mutual and time currencies)."""

    limit: int


@dataclass(frozen=True, slots=True)
class PayFromFund:
    """Pay ``amount`` from the commons fund to ``destination`` (participatory budgeting)."""

    destination: bytes
    amount: int


Action = (
    SetDefaultCreditLimit
    | SetMemberCreditLimit
    | Admit
    | Reinstate
    | Suspend
    | Expel
    | SetStewards
    | SetRules
    | SetDemurrage
    | SetLevy
    | SetMaxBalance
    | SetFundCreditLimit
    | PayFromFund
    | DesignAction  # protocol version 3 (protocol.designs.actions)
)


def encode_action(action: Action) -> tuple[object, ...]:
    match action:
        case SetDefaultCreditLimit(limit):
            return (0, limit)
        case SetMemberCreditLimit(member, limit):
            return (1, member, limit)
        case Admit(member, limit):
            return (2, member, limit)
        case Reinstate(member):
            return (3, member)
        case Suspend(member):
            return (4, member)
        case Expel(member):
            return (5, member)
        case SetStewards(stewards, threshold):
            return (6, stewards, threshold)
        case SetRules(rules):
            return (7, encode_rules(rules))
        case SetDemurrage(rate):
            return (8, rate)
        case SetLevy(rate):
            return (9, rate)
        case SetMaxBalance(ceiling):
            return (10, ceiling)
        case SetFundCreditLimit(limit):
            return (11, limit)
        case PayFromFund(destination, amount):
            return (12, destination, amount)
        case SetAccreditation() | ListBusiness() | DelistBusiness() | AgreeExchange():
            return (_DESIGN_ACTION_CODES[type(action)], *encode_design_action(action))
        case _:
            assert_never(action)


def decode_action(obj: object) -> Action:
    """Decode one action array. Raises DecodeError."""
    if type(obj) is not tuple or not obj or type(obj[0]) is not int:
        raise DecodeError("action: expected an array starting with an action code")
    decoder = _DECODERS.get(obj[0])
    if decoder is None:
        raise DecodeError(f"action: unknown action code {obj[0]!r}")
    return decoder(obj)


def _member(obj: object) -> bytes:
    return decode_key(obj, "member")


def _rate(obj: object) -> int:
    return codec.integer(obj, "rate", hi=MAX_RATE_PPM)


def _decode_admit(obj: tuple[object, ...]) -> Admit:
    _, member, limit = codec.array(obj, 3, "admit")
    return Admit(_member(member), None if limit is None else decode_amount(limit, "credit limit"))


def _decode_stewards(obj: tuple[object, ...]) -> SetStewards:
    _, stewards, threshold = codec.array(obj, 3, "set stewards")
    keys = tuple(decode_key(k, "steward") for k in codec.seq(stewards, "stewards", max_len=MAX_STEWARDS))
    return SetStewards(keys, codec.integer(threshold, "steward threshold", hi=255))


def _one(obj: tuple[object, ...], what: str) -> object:
    return codec.array(obj, 2, what)[1]


def _after_code(
    decode: Callable[[tuple[object, ...]], DesignAction],
) -> Callable[[tuple[object, ...]], Action]:
    return lambda obj: decode(obj[1:])


_DESIGN_ACTION_CODES: dict[type, int] = {
    SetAccreditation: 13,
    ListBusiness: 14,
    DelistBusiness: 15,
    AgreeExchange: 16,
}
"""Action codes of protocol version 3 (never reused)."""

_DECODERS: dict[int, Callable[[tuple[object, ...]], Action]] = {
    0: lambda o: SetDefaultCreditLimit(decode_amount(_one(o, "set default credit limit"), "credit limit")),
    1: lambda o: SetMemberCreditLimit(
        _member(codec.array(o, 3, "set member credit limit")[1]), decode_amount(o[2], "credit limit")
    ),
    2: _decode_admit,
    3: lambda o: Reinstate(_member(_one(o, "reinstate"))),
    4: lambda o: Suspend(_member(_one(o, "suspend"))),
    5: lambda o: Expel(_member(_one(o, "expel"))),
    6: _decode_stewards,
    7: lambda o: SetRules(decode_rules(_one(o, "set rules"))),
    8: lambda o: SetDemurrage(_rate(_one(o, "set demurrage"))),
    9: lambda o: SetLevy(_rate(_one(o, "set levy"))),
    10: lambda o: SetMaxBalance(decode_amount(_one(o, "set max balance"), "max balance")),
    11: lambda o: SetFundCreditLimit(decode_amount(_one(o, "set fund credit limit"), "credit limit")),
    12: lambda o: PayFromFund(
        decode_key(codec.array(o, 3, "pay from fund")[1], "destination"), decode_amount(o[2], "amount")
    ),
    **{code: _after_code(DESIGN_ACTION_DECODERS[kind]) for kind, code in _DESIGN_ACTION_CODES.items()},
}


ACTION_NAMES: dict[type, str] = {
    SetDefaultCreditLimit: "set_default_credit_limit",
    SetMemberCreditLimit: "set_member_credit_limit",
    Admit: "admit",
    Reinstate: "reinstate",
    Suspend: "suspend",
    Expel: "expel",
    SetStewards: "set_stewards",
    SetRules: "set_rules",
    SetDemurrage: "set_demurrage",
    SetLevy: "set_levy",
    SetMaxBalance: "set_max_balance",
    SetFundCreditLimit: "set_fund_credit_limit",
    PayFromFund: "pay_from_fund",
    SetAccreditation: "set_accreditation",
    ListBusiness: "register_business",
    DelistBusiness: "remove_business",
    AgreeExchange: "agree_exchange",
}
"""Stable names of the actions (API JSON and scripts match on them; never renamed)."""


def action_name(action: Action) -> str:
    return ACTION_NAMES[type(action)]


def named_account(action: Action) -> bytes | None:
    """The one account an action concerns, if any."""
    match action:
        case SetMemberCreditLimit(member, _) | Admit(member, _):
            return member
        case Reinstate(member) | Suspend(member) | Expel(member):
            return member
        case PayFromFund(destination, _):
            return destination
        case SetAccreditation(organisation, _, _):
            return organisation
        case ListBusiness(business, _, _, _) | DelistBusiness(business):
            return business
        case _:
            return None


def action_well_formed(action: Action, code: str) -> bool:
    """State-free sanity: no action names the fund as a member or a payee (the fund pays and
    receives only by the rules), payouts are positive, stewards form a reachable multisig."""
    if named_account(action) == fund_address(code):
        return False
    match action:
        case PayFromFund(_, amount):
            return amount > 0
        case SetStewards(stewards, threshold):
            return stewards_well_formed(stewards, threshold)
        case SetAccreditation() | ListBusiness() | DelistBusiness() | AgreeExchange():
            return design_action_well_formed(action, code)
        case _:
            return True


def _targets(action: Action) -> tuple[tuple[str, bytes], ...]:
    """What an action changes: a setting, or a member's standing and/or limit."""
    match action:
        case SetMemberCreditLimit(member, _):
            return (("limit", member),)
        case Admit(member, _) | Expel(member):
            return (("standing", member), ("limit", member))
        case Reinstate(member) | Suspend(member):
            return (("standing", member),)
        case PayFromFund():
            return ()  # several payouts, even to the same member, do not contradict each other
        case SetAccreditation(organisation, _, _):
            return (("accreditation", organisation),)
        case ListBusiness(business, _, _, _) | DelistBusiness(business):
            return (("business", business),)
        case AgreeExchange(partner, _, _, _, _):
            return (("exchange", partner.encode("ascii")),)
        case _:
            return ((type(action).__name__, b""),)


def conflicting(actions: tuple[Action, ...]) -> bool:
    """True when two actions change the same setting or the same member's standing or limit:
    their combined effect would depend on their order, which a voter should never have to read."""
    targets = list(itertools.chain.from_iterable(_targets(a) for a in actions))
    return len(set(targets)) != len(targets)
