"""Operations: what a transaction asks the ledger to do, and their canonical encoding.

On the wire an operation is an array ``[op_code, field, …]``. Decoding checks types and hard
bounds only; whether an operation makes sense (a positive amount, a valid currency code, a
threshold the stewards can meet) is ``check_well_formed``, so that it yields a stable result code
(``malformed``) instead of an exception.

Adding an operation (see also protocol/README.md):

1. a frozen dataclass (here, or in the package of its feature), added to the ``Operation`` union;
2. a new, never reused ``OP_…`` code, its encoder in ``encode_operation`` and its decoder in
   ``_DECODERS``;
3. the protocol version that introduced it in ``_SINCE`` (``min_protocol``): below that version a
   transaction carrying it is refused with ``protocol_too_old`` and changes nothing, so ledgers
   closed under older versions keep their exact hashes;
4. its state-free check in ``check_well_formed`` and its rules in ``protocol.apply``;
5. every ``match`` over ``Operation`` ends in ``assert_never``, so mypy lists each place still
   to do (API JSON, wallet descriptions, history indexing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import assert_never

from protocol import codec
from protocol.designs.actions import AgreeExchange, DelistBusiness, ListBusiness, SetAccreditation
from protocol.designs.operations import (
    DESIGN_DECODERS,
    Accredit,
    ApproveRecovery,
    CancelRecovery,
    CreditHours,
    DesignOperation,
    ExchangePay,
    FinishRecovery,
    RegisterBusiness,
    RemoveBusiness,
    SetGuardians,
    encode_design_operation,
)
from protocol.designs.operations import well_formed as design_well_formed
from protocol.designs.terms import CurrencyTerms, decode_terms, encode_terms
from protocol.direct_init import direct_init
from protocol.errors import DecodeError
from protocol.fields import CODE_PATTERN as CODE_PATTERN
from protocol.fields import KEY as KEY
from protocol.fields import MAX_CODE_LEN as MAX_CODE_LEN
from protocol.fields import MAX_STEWARDS as MAX_STEWARDS
from protocol.fields import CurrencyKind as CurrencyKind
from protocol.fields import decode_amount, decode_code, decode_key, stewards_well_formed
from protocol.fields import valid_code as valid_code
from protocol.governance.operations import (
    CastVote,
    GovernanceOperation,
    LeaveCurrency,
    Propose,
    Vouch,
    decode_leave,
    decode_propose,
    decode_vote,
    decode_vouch,
    encode_propose,
    encode_vote,
)
from protocol.governance.operations import well_formed as governance_well_formed
from protocol.governance.rules import GovernanceRules, decode_rules, encode_rules
from protocol.versions import PROTOCOL_V1, PROTOCOL_V2, PROTOCOL_V3

MAX_SIGNERS = 20
MAX_WEIGHT = 255
TIME_DECIMALS = 2
MAX_DECIMALS = 8

_KIND_CODES = {CurrencyKind.MUTUAL: 0, CurrencyKind.TIME: 1, CurrencyKind.ISSUED: 2}
_KIND_BY_CODE = {code: kind for kind, code in _KIND_CODES.items()}


@direct_init
@dataclass(frozen=True, slots=True)
class Payment:
    """Move ``amount`` (minor units) of ``currency`` from the transaction's source to ``destination``."""

    destination: bytes
    currency: str
    amount: int


@dataclass(frozen=True, slots=True)
class CreateCurrency:
    """Create a currency whose issuer is the transaction's source.

    ``stewards`` (public keys) admit members and set credit limits when at least
    ``steward_threshold`` of them sign. ``max_balance`` 0 means no ceiling. ``demurrage_ppm`` is a
    yearly rate in parts per million on positive balances (refused as ``unsupported`` before
    protocol version 2). ``rules`` (protocol version 2) chooses the governance and admission
    policies; ``None`` keeps the defaults (stewards decide, stewards admit) and the version-1
    encoding.
    """

    code: str
    kind: CurrencyKind
    decimals: int
    stewards: tuple[bytes, ...]
    steward_threshold: int
    default_credit_limit: int
    max_balance: int = 0
    demurrage_ppm: int = 0
    rules: GovernanceRules | None = None
    terms: CurrencyTerms | None = None


@dataclass(frozen=True, slots=True)
class AdmitMember:
    """Admit ``member`` to a mutual/time currency (steward-signed); ``None`` = the default limit."""

    currency: str
    member: bytes
    credit_limit: int | None = None


@dataclass(frozen=True, slots=True)
class SetCreditLimit:
    """Change a member's credit limit (steward-signed). Lowering it below the member's current
    debt is allowed: the debt may then only shrink."""

    currency: str
    member: bytes
    credit_limit: int


@dataclass(frozen=True, slots=True)
class Mint:
    """Issue ``amount`` new units of an issued currency to ``destination`` (issuer only)."""

    currency: str
    destination: bytes
    amount: int


@dataclass(frozen=True, slots=True)
class Redeem:
    """Take ``amount`` out of circulation from the issuer's own balance (issuer only).

    A holder redeems by paying the issuer (who settles in national money off the ledger); the
    issuer then redeems those units, so supply always equals the sum of holders' balances.
    """

    currency: str
    amount: int


@dataclass(frozen=True, slots=True)
class SetSigners:
    """Replace the source account's signers (public key, weight) and its signing threshold."""

    signers: tuple[tuple[bytes, int], ...]
    threshold: int


Operation = (
    Payment
    | CreateCurrency
    | AdmitMember
    | SetCreditLimit
    | Mint
    | Redeem
    | SetSigners
    | GovernanceOperation
    | DesignOperation
)

OP_PAYMENT, OP_CREATE_CURRENCY, OP_ADMIT_MEMBER, OP_SET_CREDIT_LIMIT, OP_MINT, OP_REDEEM, OP_SET_SIGNERS = (
    range(7)
)
OP_PROPOSE, OP_VOTE, OP_VOUCH, OP_LEAVE = range(7, 11)
_DESIGN_CODES: dict[type, int] = {
    Accredit: 11,
    CreditHours: 12,
    RegisterBusiness: 13,
    RemoveBusiness: 14,
    ExchangePay: 15,
    SetGuardians: 16,
    ApproveRecovery: 17,
    CancelRecovery: 18,
    FinishRecovery: 19,
}
"""Operation codes of protocol version 3 (never reused)."""
_V3_ACTIONS = (SetAccreditation, ListBusiness, DelistBusiness, AgreeExchange)

_SINCE: dict[type, int] = {
    Payment: PROTOCOL_V1,
    CreateCurrency: PROTOCOL_V1,
    AdmitMember: PROTOCOL_V1,
    SetCreditLimit: PROTOCOL_V1,
    Mint: PROTOCOL_V1,
    Redeem: PROTOCOL_V1,
    SetSigners: PROTOCOL_V1,
    Propose: PROTOCOL_V2,
    CastVote: PROTOCOL_V2,
    Vouch: PROTOCOL_V2,
    LeaveCurrency: PROTOCOL_V2,
    **dict.fromkeys(_DESIGN_CODES, PROTOCOL_V3),
}


def min_protocol(op: Operation) -> int:
    """The first protocol version under which ``op`` may apply."""
    if isinstance(op, CreateCurrency):
        return PROTOCOL_V3 if op.terms is not None else PROTOCOL_V2 if op.rules is not None else PROTOCOL_V1
    if isinstance(op, Propose) and any(isinstance(action, _V3_ACTIONS) for action in op.actions):
        return PROTOCOL_V3
    return _SINCE[type(op)]


def encode_operation(op: Operation) -> tuple[object, ...]:
    """The msgpack-ready array for ``op``."""
    match op:
        case Payment(destination, currency, amount):
            return (OP_PAYMENT, destination, currency, amount)
        case CreateCurrency(
            code, kind, decimals, stewards, threshold, limit, max_balance, demurrage, rules, terms
        ):
            fields = (
                OP_CREATE_CURRENCY,
                code,
                _KIND_CODES[kind],
                decimals,
                stewards,
                threshold,
                limit,
                max_balance,
                demurrage,
            )
            if terms is not None:  # protocol version 3: 11 fields, the rules nil when not given
                return (*fields, None if rules is None else encode_rules(rules), encode_terms(terms))
            return fields if rules is None else (*fields, encode_rules(rules))
        case AdmitMember(currency, member, limit):
            return (OP_ADMIT_MEMBER, currency, member, limit)
        case SetCreditLimit(currency, member, limit):
            return (OP_SET_CREDIT_LIMIT, currency, member, limit)
        case Mint(currency, destination, amount):
            return (OP_MINT, currency, destination, amount)
        case Redeem(currency, amount):
            return (OP_REDEEM, currency, amount)
        case SetSigners(signers, threshold):
            return (OP_SET_SIGNERS, signers, threshold)
        case Propose():
            return (OP_PROPOSE, *encode_propose(op))
        case CastVote():
            return (OP_VOTE, *encode_vote(op))
        case Vouch(currency, candidate):
            return (OP_VOUCH, currency, candidate)
        case LeaveCurrency(currency):
            return (OP_LEAVE, currency)
        case (
            Accredit()
            | CreditHours()
            | RegisterBusiness()
            | RemoveBusiness()
            | ExchangePay()
            | SetGuardians()
            | ApproveRecovery()
            | CancelRecovery()
            | FinishRecovery()
        ):
            return (_DESIGN_CODES[type(op)], *encode_design_operation(op))
        case _:
            assert_never(op)


def decode_operation(obj: object) -> Operation:
    """Decode one operation array. Raises DecodeError."""
    if type(obj) is not tuple or not obj:
        raise DecodeError("operation: expected a non-empty array")
    code = obj[0]
    decoder = _DECODERS.get(code) if type(code) is int else None
    if decoder is None:
        raise DecodeError(f"operation: unknown operation code {code!r}")
    return decoder(obj)


def _decode_payment(obj: tuple[object, ...]) -> Payment:
    _, dest, cur, amount = codec.array(obj, 4, "payment")
    return Payment(
        decode_key(dest, "payment destination"), decode_code(cur), decode_amount(amount, "payment amount")
    )


def _decode_create_currency(obj: tuple[object, ...]) -> CreateCurrency:
    # 9 fields in protocol version 1; a 10th, the governance rules, from version 2; an 11th, the
    # terms, from version 3 (then the 10th is nil when the rules are the defaults left unsaid)
    fields = codec.array(obj, len(obj) if len(obj) in (10, 11) else 9, "create_currency")
    _, cur, kind, decimals, stewards, threshold, limit, max_balance, demurrage = fields[:9]
    kind_code = codec.integer(kind, "currency kind", hi=255)
    if kind_code not in _KIND_BY_CODE:
        raise DecodeError(f"currency kind: unknown kind {kind_code}")
    return CreateCurrency(
        decode_code(cur),
        _KIND_BY_CODE[kind_code],
        codec.integer(decimals, "decimals", hi=255),
        tuple(decode_key(k, "steward") for k in codec.seq(stewards, "stewards", max_len=MAX_STEWARDS)),
        codec.integer(threshold, "steward threshold", hi=255),
        decode_amount(limit, "default credit limit"),
        decode_amount(max_balance, "max balance"),
        codec.integer(demurrage, "demurrage rate", hi=1_000_000),
        None if len(fields) == 9 or (fields[9] is None and len(fields) == 11) else decode_rules(fields[9]),
        decode_terms(fields[10]) if len(fields) == 11 else None,
    )


def _decode_admit_member(obj: tuple[object, ...]) -> AdmitMember:
    _, cur, member, limit = codec.array(obj, 4, "admit_member")
    return AdmitMember(
        decode_code(cur),
        decode_key(member, "member"),
        None if limit is None else decode_amount(limit, "credit limit"),
    )


def _decode_set_credit_limit(obj: tuple[object, ...]) -> SetCreditLimit:
    _, cur, member, limit = codec.array(obj, 4, "set_credit_limit")
    return SetCreditLimit(
        decode_code(cur), decode_key(member, "member"), decode_amount(limit, "credit limit")
    )


def _decode_mint(obj: tuple[object, ...]) -> Mint:
    _, cur, dest, amount = codec.array(obj, 4, "mint")
    return Mint(decode_code(cur), decode_key(dest, "mint destination"), decode_amount(amount, "mint amount"))


def _decode_redeem(obj: tuple[object, ...]) -> Redeem:
    _, cur, amount = codec.array(obj, 3, "redeem")
    return Redeem(decode_code(cur), decode_amount(amount, "redeem amount"))


def _decode_set_signers(obj: tuple[object, ...]) -> SetSigners:
    _, signers, threshold = codec.array(obj, 3, "set_signers")
    pairs = tuple(
        (decode_key(pair[0], "signer key"), codec.integer(pair[1], "signer weight", hi=255))
        for pair in (codec.array(p, 2, "signer") for p in codec.seq(signers, "signers", max_len=MAX_SIGNERS))
    )
    return SetSigners(pairs, codec.integer(threshold, "signing threshold", hi=255))


def _after_code(
    decode: Callable[[tuple[object, ...]], DesignOperation],
) -> Callable[[tuple[object, ...]], Operation]:
    return lambda obj: decode(obj[1:])


_DECODERS: dict[int, Callable[[tuple[object, ...]], Operation]] = {
    OP_PAYMENT: _decode_payment,
    OP_CREATE_CURRENCY: _decode_create_currency,
    OP_ADMIT_MEMBER: _decode_admit_member,
    OP_SET_CREDIT_LIMIT: _decode_set_credit_limit,
    OP_MINT: _decode_mint,
    OP_REDEEM: _decode_redeem,
    OP_SET_SIGNERS: _decode_set_signers,
    OP_PROPOSE: lambda obj: decode_propose(obj[1:]),
    OP_VOTE: lambda obj: decode_vote(obj[1:]),
    OP_VOUCH: lambda obj: decode_vouch(obj[1:]),
    OP_LEAVE: lambda obj: decode_leave(obj[1:]),
    **{code: _after_code(DESIGN_DECODERS[kind]) for kind, code in _DESIGN_CODES.items()},
}


def check_well_formed(op: Operation, source: bytes) -> bool:
    """State-independent sanity of one operation (its result code is ``malformed`` when False)."""
    match op:
        case Payment(destination, currency, amount) | Mint(currency, destination, amount):
            return amount > 0 and valid_code(currency) and (isinstance(op, Mint) or destination != source)
        case Redeem(currency, amount):
            return amount > 0 and valid_code(currency)
        case CreateCurrency():
            return _currency_well_formed(op)
        case AdmitMember(currency, _member, _limit):
            return valid_code(currency)
        case SetCreditLimit(currency, _member, _limit):
            return valid_code(currency)
        case SetSigners():
            return True  # its rules have their own result code, bad_signers
        case Propose() | CastVote() | Vouch() | LeaveCurrency():
            return governance_well_formed(op, source)
        case (
            Accredit()
            | CreditHours()
            | RegisterBusiness()
            | RemoveBusiness()
            | ExchangePay()
            | SetGuardians()
            | ApproveRecovery()
            | CancelRecovery()
            | FinishRecovery()
        ):
            return design_well_formed(op, source)
        case _:
            assert_never(op)


def signers_are_valid(signers: tuple[tuple[bytes, int], ...], threshold: int) -> bool:
    """Distinct keys, weights 1–255, and a threshold (1–255) the signers can reach together.

    The last rule prevents an account from locking itself out for ever.
    """
    keys = [key for key, _ in signers]
    return (
        0 < len(signers) <= MAX_SIGNERS
        and len(set(keys)) == len(keys)
        and all(1 <= weight <= MAX_WEIGHT for _, weight in signers)
        and 1 <= threshold <= MAX_WEIGHT
        and sum(weight for _, weight in signers) >= threshold
    )


def _currency_well_formed(op: CreateCurrency) -> bool:
    decimals_ok = (
        op.decimals == TIME_DECIMALS if op.kind is CurrencyKind.TIME else op.decimals <= MAX_DECIMALS
    )
    limit_ok = op.default_credit_limit == 0 if op.kind is CurrencyKind.ISSUED else True
    return (
        valid_code(op.code)
        and decimals_ok
        and limit_ok
        and stewards_well_formed(op.stewards, op.steward_threshold)
    )
