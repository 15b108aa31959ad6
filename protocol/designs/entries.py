"""The ledger entries protocol version 3 adds.

Keys (a one-letter prefix, then fields that decode without a separator: codes are A-Z0-9 and
come before the 32-byte account, so a currency's entries are one key range):

* ``o`` ‖ code ‖ organisation (32)   → ``Accreditation`` (guaranteed time credits)
* ``b`` ‖ code ‖ business (32)       → ``Business`` (spend-locally money)
* ``x`` ‖ len(a) ‖ a ‖ b, with a < b  → ``ExchangeAgreement`` (between the communities of a and b)
* ``g`` ‖ account (32)               → ``Guardianship`` (social key recovery)

Nothing is ever deleted from the ledger state: a withdrawn accreditation or a removed business
stays, marked inactive, so the reports keep what happened.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol import codec
from protocol.codec import UINT32_MAX
from protocol.designs.actions import MAX_RATE_TERM
from protocol.designs.operations import MAX_GUARDIANS, business_texts
from protocol.errors import DecodeError
from protocol.fields import KEY, MAX_CODE_LEN, valid_code

ACCREDITATION_PREFIX = b"o"
BUSINESS_PREFIX = b"b"
AGREEMENT_PREFIX = b"x"
GUARDIANSHIP_PREFIX = b"g"
DESIGN_ENTRY_V1 = 1


def accreditation_key(code: str, organisation: bytes) -> bytes:
    return ACCREDITATION_PREFIX + code.encode("ascii") + organisation


def business_key(code: str, business: bytes) -> bytes:
    return BUSINESS_PREFIX + code.encode("ascii") + business


def agreement_key(a: str, b: str) -> bytes:
    """The key of the agreement between ``a`` and ``b`` (in either order)."""
    first, second = sorted((a, b))
    return AGREEMENT_PREFIX + bytes([len(first)]) + first.encode("ascii") + second.encode("ascii")


def guardianship_key(account: bytes) -> bytes:
    return GUARDIANSHIP_PREFIX + account


@dataclass(frozen=True, slots=True)
class Accreditation:
    """An organisation the guarantor accredited: it may credit hours while ``active``, in all at
    most ``quota``; ``credited`` is what it credited so far, ``redeemed`` what holders paid it."""

    currency: str
    organisation: bytes
    quota: int
    credited: int = 0
    redeemed: int = 0
    active: bool = True

    @property
    def key(self) -> bytes:
        return accreditation_key(self.currency, self.organisation)

    @property
    def remaining(self) -> int:
        return max(0, self.quota - self.credited)


@dataclass(frozen=True, slots=True)
class Business:
    currency: str
    account: bytes
    name: str
    category: str
    offer: str
    active: bool = True

    @property
    def key(self) -> bytes:
        return business_key(self.currency, self.account)


@dataclass(frozen=True, slots=True)
class ExchangeAgreement:
    """The terms two communities agreed, oriented by code (``a`` < ``b``): ``rate_num`` minor
    units of ``b`` for ``rate_den`` of ``a`` (a reduced fraction), each community's clearing
    account within its limit. In force while both agreed to this ``version``."""

    a: str
    b: str
    version: int
    rate_num: int
    rate_den: int
    limit_a: int
    limit_b: int
    agreed_a: bool
    agreed_b: bool

    @property
    def key(self) -> bytes:
        return agreement_key(self.a, self.b)

    @property
    def in_force(self) -> bool:
        return self.agreed_a and self.agreed_b

    def limit_of(self, code: str) -> int:
        return self.limit_a if code == self.a else self.limit_b

    def partner_of(self, code: str) -> str:
        return self.b if code == self.a else self.a


@dataclass(frozen=True, slots=True)
class Guardianship:
    """An account's guardians and, when a recovery is under way, their approvals.

    ``approvals`` pairs each approving guardian with the new key it approved (sorted by
    guardian). Once ``threshold`` guardians approved the same key, that key is ``started_key``
    and the replacement may finish at ``due_ms`` (close time), unless the owner cancels first.
    """

    account: bytes
    guardians: tuple[bytes, ...]
    threshold: int
    delay_s: int
    approvals: tuple[tuple[bytes, bytes], ...] = ()
    started_key: bytes = b""
    due_ms: int = 0

    @property
    def key(self) -> bytes:
        return guardianship_key(self.account)

    @property
    def started(self) -> bool:
        return bool(self.started_key)


DesignEntry = Accreditation | Business | ExchangeAgreement | Guardianship
DESIGN_PREFIXES = frozenset({ACCREDITATION_PREFIX, BUSINESS_PREFIX, AGREEMENT_PREFIX, GUARDIANSHIP_PREFIX})


def encode_design_entry(entry: DesignEntry) -> tuple[object, ...]:
    """The msgpack-ready array of a version-3 entry (its key carries the rest)."""
    match entry:
        case Accreditation(_, _, quota, credited, redeemed, active):
            return (DESIGN_ENTRY_V1, quota, credited, redeemed, active)
        case Business(_, _, name, category, offer, active):
            return (DESIGN_ENTRY_V1, name, category, offer, active)
        case ExchangeAgreement(_, _, version, num, den, limit_a, limit_b, agreed_a, agreed_b):
            return (DESIGN_ENTRY_V1, version, num, den, limit_a, limit_b, agreed_a, agreed_b)
        case Guardianship(_, guardians, threshold, delay, approvals, started, due):
            return (DESIGN_ENTRY_V1, guardians, threshold, delay, approvals, started, due)


def decode_design_entry(key: bytes, fields: object) -> DesignEntry:
    """Decode the unpacked fields stored under a version-3 ``key``. Raises DecodeError."""
    prefix, rest = key[:1], key[1:]
    if prefix == ACCREDITATION_PREFIX and KEY < len(rest) <= KEY + MAX_CODE_LEN:
        version, quota, credited, redeemed, active = codec.array(fields, 5, "accreditation")
        codec.tag(version, DESIGN_ENTRY_V1, "accreditation")
        return Accreditation(
            _code(rest[:-KEY]),
            rest[-KEY:],
            codec.integer(quota, "quota"),
            codec.integer(credited, "credited"),
            codec.integer(redeemed, "redeemed"),
            codec.boolean(active, "active"),
        )
    if prefix == BUSINESS_PREFIX and KEY < len(rest) <= KEY + MAX_CODE_LEN:
        version, name, category, offer, active = codec.array(fields, 5, "business")
        codec.tag(version, DESIGN_ENTRY_V1, "business")
        texts = business_texts(name, category, offer)
        return Business(_code(rest[:-KEY]), rest[-KEY:], *texts, codec.boolean(active, "active"))
    if prefix == AGREEMENT_PREFIX and rest and 0 < rest[0] < len(rest) - 1:
        a, b = _code(rest[1 : 1 + rest[0]]), _code(rest[1 + rest[0] :])
        if not a < b:
            raise DecodeError("exchange agreement: currency codes out of order")
        version, number, num, den, limit_a, limit_b, agreed_a, agreed_b = codec.array(fields, 8, "agreement")
        codec.tag(version, DESIGN_ENTRY_V1, "agreement")
        return ExchangeAgreement(
            a,
            b,
            codec.integer(number, "agreement version", lo=1, hi=UINT32_MAX),
            codec.integer(num, "rate numerator", lo=1, hi=MAX_RATE_TERM),
            codec.integer(den, "rate denominator", lo=1, hi=MAX_RATE_TERM),
            codec.integer(limit_a, "limit"),
            codec.integer(limit_b, "limit"),
            codec.boolean(agreed_a, "agreed"),
            codec.boolean(agreed_b, "agreed"),
        )
    if prefix == GUARDIANSHIP_PREFIX and len(rest) == KEY:
        version, guardians, threshold, delay, approvals, started, due = codec.array(fields, 7, "guardianship")
        codec.tag(version, DESIGN_ENTRY_V1, "guardianship")
        return Guardianship(
            rest,
            tuple(
                codec.blob(g, "guardian", size=KEY)
                for g in codec.seq(guardians, "guardians", max_len=MAX_GUARDIANS)
            ),
            codec.integer(threshold, "threshold", hi=255),
            codec.integer(delay, "delay", hi=UINT32_MAX),
            tuple(
                (codec.blob(g, "approving guardian", size=KEY), codec.blob(k, "approved key", size=KEY))
                for g, k in (
                    codec.array(p, 2, "approval")
                    for p in codec.seq(approvals, "approvals", max_len=MAX_GUARDIANS)
                )
            ),
            _started_key(started),
            codec.integer(due, "due"),
        )
    raise DecodeError(f"state entry: unknown key {key[:8].hex()}…")


def _started_key(obj: object) -> bytes:
    started = codec.blob(obj, "started key", max_len=KEY)
    if len(started) not in (0, KEY):
        raise DecodeError("guardianship: the started key is empty or a 32-byte key")
    return started


def _code(raw: bytes) -> str:
    code = raw.decode("ascii", errors="replace")
    if not valid_code(code):
        raise DecodeError(f"state entry: {raw!r} is not a currency code")
    return code
