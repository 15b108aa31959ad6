"""Operations: what a transaction asks the ledger to do, and their canonical encoding.

On the wire an operation is an array ``[op_code, field, …]``. Decoding checks types and hard
bounds only; whether an operation makes sense (a positive amount, a valid currency code, a
threshold the stewards can meet) is ``check_well_formed``, so that it yields a stable result code
(``malformed``) instead of an exception.
"""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass
from typing import assert_never

from protocol import codec
from protocol.codec import INT64_MAX
from protocol.errors import DecodeError

KEY = 32
MAX_CODE_LEN = 12
MAX_STEWARDS = 20
MAX_SIGNERS = 20
MAX_WEIGHT = 255
TIME_DECIMALS = 2
MAX_DECIMALS = 8
CODE_PATTERN = re.compile(r"[A-Z0-9]{1,12}")


class CurrencyKind(enum.Enum):
    """What kind of money a currency is; the value is its stable name."""

    MUTUAL = "mutual"  # LETS / mutual credit: zero-sum, balances may go down to -credit_limit
    TIME = "time"  # time bank: mutual credit counted in hours with 2 decimals
    ISSUED = "issued"  # backed local currency: an issuer mints and redeems, never below zero

    @property
    def is_mutual_credit(self) -> bool:
        return self is not CurrencyKind.ISSUED


_KIND_CODES = {CurrencyKind.MUTUAL: 0, CurrencyKind.TIME: 1, CurrencyKind.ISSUED: 2}
_KIND_BY_CODE = {code: kind for kind, code in _KIND_CODES.items()}


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
    yearly rate in parts per million on positive balances; it is not implemented yet, so any
    non-zero value is refused with ``unsupported``.
    """

    code: str
    kind: CurrencyKind
    decimals: int
    stewards: tuple[bytes, ...]
    steward_threshold: int
    default_credit_limit: int
    max_balance: int = 0
    demurrage_ppm: int = 0


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


Operation = Payment | CreateCurrency | AdmitMember | SetCreditLimit | Mint | Redeem | SetSigners

OP_PAYMENT, OP_CREATE_CURRENCY, OP_ADMIT_MEMBER, OP_SET_CREDIT_LIMIT, OP_MINT, OP_REDEEM, OP_SET_SIGNERS = (
    range(7)
)


def encode_operation(op: Operation) -> tuple[object, ...]:
    """The msgpack-ready array for ``op``."""
    match op:
        case Payment(destination, currency, amount):
            return (OP_PAYMENT, destination, currency, amount)
        case CreateCurrency(code, kind, decimals, stewards, threshold, limit, max_balance, demurrage):
            return (
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
        case _:
            assert_never(op)


def decode_operation(obj: object) -> Operation:
    """Decode one operation array. Raises DecodeError."""
    if type(obj) is not tuple or not obj:
        raise DecodeError("operation: expected a non-empty array")
    code = obj[0]
    if code == OP_PAYMENT and type(code) is int:
        _, dest, cur, amount = codec.array(obj, 4, "payment")
        return Payment(_key(dest, "payment destination"), _code(cur), _amount(amount, "payment amount"))
    if code == OP_CREATE_CURRENCY and type(code) is int:
        _, cur, kind, decimals, stewards, threshold, limit, max_balance, demurrage = codec.array(
            obj, 9, "create_currency"
        )
        kind_code = codec.integer(kind, "currency kind", hi=255)
        if kind_code not in _KIND_BY_CODE:
            raise DecodeError(f"currency kind: unknown kind {kind_code}")
        return CreateCurrency(
            _code(cur),
            _KIND_BY_CODE[kind_code],
            codec.integer(decimals, "decimals", hi=255),
            tuple(_key(k, "steward") for k in codec.seq(stewards, "stewards", max_len=MAX_STEWARDS)),
            codec.integer(threshold, "steward threshold", hi=255),
            _amount(limit, "default credit limit"),
            _amount(max_balance, "max balance"),
            codec.integer(demurrage, "demurrage rate", hi=1_000_000),
        )
    if code == OP_ADMIT_MEMBER and type(code) is int:
        _, cur, member, limit = codec.array(obj, 4, "admit_member")
        return AdmitMember(
            _code(cur), _key(member, "member"), None if limit is None else _amount(limit, "credit limit")
        )
    if code == OP_SET_CREDIT_LIMIT and type(code) is int:
        _, cur, member, limit = codec.array(obj, 4, "set_credit_limit")
        return SetCreditLimit(_code(cur), _key(member, "member"), _amount(limit, "credit limit"))
    if code == OP_MINT and type(code) is int:
        _, cur, dest, amount = codec.array(obj, 4, "mint")
        return Mint(_code(cur), _key(dest, "mint destination"), _amount(amount, "mint amount"))
    if code == OP_REDEEM and type(code) is int:
        _, cur, amount = codec.array(obj, 3, "redeem")
        return Redeem(_code(cur), _amount(amount, "redeem amount"))
    if code == OP_SET_SIGNERS and type(code) is int:
        _, signers, threshold = codec.array(obj, 3, "set_signers")
        pairs = tuple(
            (_key(pair[0], "signer key"), codec.integer(pair[1], "signer weight", hi=255))
            for pair in (
                codec.array(p, 2, "signer") for p in codec.seq(signers, "signers", max_len=MAX_SIGNERS)
            )
        )
        return SetSigners(pairs, codec.integer(threshold, "signing threshold", hi=255))
    raise DecodeError(f"operation: unknown operation code {code!r}")


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
        case _:
            assert_never(op)


def valid_code(code: str) -> bool:
    """Currency codes are 1–12 characters of A–Z and 0–9."""
    return len(code) <= MAX_CODE_LEN and _valid_short_code(code)


@functools.lru_cache(maxsize=4096)
def _valid_short_code(code: str) -> bool:
    # cached: a handful of codes are checked on every payment (only short strings get here,
    # so the cache stays small whatever a client sends)
    return CODE_PATTERN.fullmatch(code) is not None


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
        and 0 < len(op.stewards) <= MAX_STEWARDS
        and len(set(op.stewards)) == len(op.stewards)
        and 1 <= op.steward_threshold <= len(op.stewards)
    )


def _key(obj: object, what: str) -> bytes:
    return codec.blob(obj, what, size=KEY)


def _code(obj: object) -> str:
    return codec.text(obj, "currency code", max_len=MAX_CODE_LEN)


def _amount(obj: object, what: str) -> int:
    return codec.integer(obj, what, hi=INT64_MAX)
