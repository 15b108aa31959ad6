"""Ledger state: typed entries, their keys and encoding, overlays for atomic apply, and the
incremental state hash.

State is a key → entry map. Three kinds of entry since protocol version 1:
  * ``Account``  (key ``a`` ‖ public key): sequence number, signers and threshold;
  * ``Currency`` (key ``c`` ‖ code): its rules, issuer, stewards, supply and member count;
  * ``Holding``  (key ``h`` ‖ public key ‖ code): one account's balance, credit limit and
    standing in one currency (grouped by account so an account's holdings are one range);
the governance entries of version 2 (``protocol.governance.entries``) and the entries of version 3
(``protocol.designs.entries``).

Extensions keep old hashes: a currency or holding that uses nothing of version 2 encodes exactly
as in version 1 (layout ``ENTRY_V1``); one that does uses ``ENTRY_V2``, which is refused when the
extension holds only defaults, so every entry keeps exactly one byte form (stellar-core's ledger
entry extensions work the same way). A currency with terms of version 3 (``protocol.designs.terms``)
uses ``ENTRY_V3``, refused when its terms are the defaults.

The *state hash* is an additive multiset hash: the sum, modulo 2^512, of BLAKE2b-512 over every
(key, value). Changing one entry subtracts its old term and adds the new one, so a ledger's cost
is proportional to the entries it changes, never to the size of the state, and the result does
not depend on the order of changes. It detects divergence between honest nodes; it is not meant
as a commitment for light-client proofs.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from protocol import codec
from protocol.codec import INT64_MAX, UINT32_MAX
from protocol.designs.entries import (
    DESIGN_PREFIXES,
    Accreditation,
    Business,
    DesignEntry,
    ExchangeAgreement,
    Guardianship,
    decode_design_entry,
    encode_design_entry,
)
from protocol.designs.terms import NO_TERMS, CurrencyTerms, decode_terms, encode_terms
from protocol.direct_init import direct_init
from protocol.errors import DecodeError
from protocol.fields import MAX_CODE_LEN, MAX_STEWARDS, CurrencyKind, valid_code
from protocol.governance.entries import (
    GOVERNANCE_PREFIXES,
    GovernanceEntry,
    decode_governance_entry,
    encode_governance_entry,
    entry_size_limit,
)
from protocol.governance.rules import DEFAULT_RULES, GovernanceRules, decode_rules, encode_rules
from protocol.hashing import blake2b256
from protocol.operations import MAX_SIGNERS

ENTRY_V1 = 1
ENTRY_V2 = 2
ENTRY_V3 = 3
ACCOUNT_PREFIX = b"a"
CURRENCY_PREFIX = b"c"
HOLDING_PREFIX = b"h"
_KINDS = {kind.value: kind for kind in CurrencyKind}


class Role(enum.Enum):
    """An account's standing in one currency; the value is its stable name."""

    HOLDER = "holder"  # holds an issued currency, or left / was never admitted to a mutual one
    MEMBER = "member"  # admitted and in good standing: pays, is paid, votes, vouches
    SUSPENDED = "suspended"  # keeps its balance, but cannot pay, be paid, vote or vouch
    EXPELLED = "expelled"  # its balance went to the fund; only a proposal can reinstate it
    FUND = "fund"  # the currency's commons fund (protocol.governance.fund)
    CLEARING = "clearing"  # a community's clearing account for exchanges (protocol.designs.clearing)


_MEMBER, _HOLDER = Role.MEMBER, Role.HOLDER
_ROLE_CODES = {role: i for i, role in enumerate(Role)}
_ROLE_BY_CODE = dict(enumerate(Role))


@direct_init
@dataclass(frozen=True, slots=True)
class Account:
    id: bytes
    seq: int
    threshold: int
    signers: tuple[tuple[bytes, int], ...]

    @property
    def key(self) -> bytes:
        return account_key(self.id)


@dataclass(frozen=True, slots=True)
class CurrencyExtension:
    """What protocol version 2 adds to a currency: its governance, the levy, the demurrage
    index (see ``protocol.governance.demurrage``) and counters."""

    rules: GovernanceRules = DEFAULT_RULES
    levy_ppm: int = 0
    demurrage_index: int = 0  # the cumulative decay (2^-48 nats) at ``demurrage_since_ms``
    demurrage_since_ms: int = 0  # when the current demurrage rate took effect
    admissions: int = 0  # admissions and reinstatements under version 2 (the latest serial)
    proposals: int = 0  # proposals made (the number of the latest)
    open_proposals: int = 0  # proposals not decided yet
    terms: CurrencyTerms = NO_TERMS  # protocol version 3: guaranteed credits, whom holders may pay


NO_EXTENSION = CurrencyExtension()


@direct_init
@dataclass(frozen=True, slots=True)
class Currency:
    code: str
    kind: CurrencyKind
    decimals: int
    issuer: bytes
    stewards: tuple[bytes, ...]
    steward_threshold: int
    default_credit_limit: int
    max_balance: int
    demurrage_ppm: int
    supply: int  # issued: units in circulation; mutual/time: sum of positive balances
    members: int  # holdings with role MEMBER
    extension: CurrencyExtension = NO_EXTENSION

    @property
    def key(self) -> bytes:
        return currency_key(self.code)

    def stewards_signed(self, signers: frozenset[bytes]) -> bool:
        """Whether at least ``steward_threshold`` of the stewards are among ``signers``."""
        return sum(1 for steward in self.stewards if steward in signers) >= self.steward_threshold

    @property
    def plain_transfers(self) -> bool:
        """No levy and no demurrage ever charged, and anyone may be paid: payments need none of
        those checks (the fast path)."""
        ext = self.extension
        return ext is NO_EXTENSION or (
            ext.levy_ppm == 0
            and self.demurrage_ppm == 0
            and ext.demurrage_index == 0
            and not ext.terms.checks_payments
        )


@direct_init
@dataclass(frozen=True, slots=True)
class Holding:
    account: bytes
    currency: str
    balance: int
    credit_limit: int
    role: Role
    demurrage_index: int = 0  # the currency's demurrage index when this balance was last settled
    admission: int = 0  # serial of the latest admission or reinstatement under version 2

    @property
    def key(self) -> bytes:
        return holding_key(self.account, self.currency)

    @property
    def member(self) -> bool:
        """Admitted and in good standing."""
        return self.role is _MEMBER

    @property
    def available(self) -> int:
        """What the holder can still pay: balance plus remaining credit."""
        return self.balance + self.credit_limit


Entry = Account | Currency | Holding | GovernanceEntry | DesignEntry


def account_key(public_key: bytes) -> bytes:
    return ACCOUNT_PREFIX + public_key


def currency_key(code: str) -> bytes:
    return CURRENCY_PREFIX + code.encode("ascii")


def holding_key(account: bytes, code: str) -> bytes:
    return HOLDING_PREFIX + account + code.encode("ascii")


def new_holding(account: bytes, code: str, role: Role = Role.HOLDER) -> Holding:
    """A holding that never held anything."""
    return Holding(account, code, 0, 0, role)


def new_account(public_key: bytes) -> Account:
    """An account that never transacted: sequence 0, its own key as the only signer."""
    return Account(public_key, 0, 1, ((public_key, 1),))


def encode_entry(entry: Entry) -> bytes:
    # Holdings and accounts first, not by class pattern: every payment writes two
    # holdings and an account, and matching them cost more than packing them (2.4 against 0.7 µs).
    if isinstance(entry, Holding):
        h = entry
        if _v1_holding(h.role, h.demurrage_index, h.admission):
            return codec.pack((ENTRY_V1, h.balance, h.credit_limit, h.role is Role.MEMBER))
        return codec.pack(
            (ENTRY_V2, h.balance, h.credit_limit, _ROLE_CODES[h.role], h.demurrage_index, h.admission)
        )
    if isinstance(entry, Account):
        return codec.pack((ENTRY_V1, entry.seq, entry.threshold, entry.signers))
    match entry:
        case Currency():
            e = entry
            fields = (
                e.kind.value,
                e.decimals,
                e.issuer,
                e.stewards,
                e.steward_threshold,
                e.default_credit_limit,
                e.max_balance,
                e.demurrage_ppm,
                e.supply,
                e.members,
            )
            x = e.extension
            if x == NO_EXTENSION:
                return codec.pack((ENTRY_V1, *fields))
            governed = (
                encode_rules(x.rules),
                x.levy_ppm,
                x.demurrage_index,
                x.demurrage_since_ms,
                x.admissions,
                x.proposals,
                x.open_proposals,
            )
            if x.terms == NO_TERMS:
                return codec.pack((ENTRY_V2, *fields, *governed))
            return codec.pack((ENTRY_V3, *fields, *governed, encode_terms(x.terms)))
        case Accreditation() | Business() | ExchangeAgreement() | Guardianship():
            return codec.pack(encode_design_entry(entry))
        case _:
            return codec.pack(encode_governance_entry(entry))


def _v1_holding(role: Role, demurrage_index: int, admission: int) -> bool:
    return (role is _MEMBER or role is _HOLDER) and demurrage_index == 0 and admission == 0


def decode_entry(key: bytes, raw: bytes) -> Entry:
    """Decode a stored entry; the key says which kind it is. Raises DecodeError."""
    prefix, rest = key[:1], key[1:]
    fields = codec.unpack(raw, max_size=entry_size_limit(prefix), what="state entry")
    if prefix in GOVERNANCE_PREFIXES:
        return decode_governance_entry(key, fields)
    if prefix in DESIGN_PREFIXES:
        return decode_design_entry(key, fields)
    if prefix == ACCOUNT_PREFIX and len(rest) == 32:
        version, seq, threshold, signers = codec.array(fields, 4, "account")
        codec.tag(version, ENTRY_V1, "account")
        return Account(
            rest,
            codec.integer(seq, "sequence"),
            codec.integer(threshold, "threshold", hi=255),
            tuple(
                (codec.blob(k, "signer", size=32), codec.integer(w, "weight", hi=255))
                for k, w in (
                    codec.array(s, 2, "signer") for s in codec.seq(signers, "signers", max_len=MAX_SIGNERS)
                )
            ),
        )
    if prefix == CURRENCY_PREFIX and 0 < len(rest) <= MAX_CODE_LEN:
        return _decode_currency(rest, fields)
    if prefix == HOLDING_PREFIX and 32 < len(rest) <= 32 + MAX_CODE_LEN:
        return _decode_holding(rest, fields)
    raise DecodeError(f"state entry: unknown key {key[:8].hex()}…")


_CURRENCY_FIELDS = {ENTRY_V1: 11, ENTRY_V2: 18, ENTRY_V3: 19}


def _decode_currency(rest: bytes, fields: object) -> Currency:
    version = fields[0] if type(fields) is tuple and fields else None
    if type(version) is not int or version not in _CURRENCY_FIELDS:
        raise DecodeError(f"currency: unknown version {version!r} (this software speaks 1 to {ENTRY_V3})")
    items = codec.array(fields, _CURRENCY_FIELDS[version], "currency")
    (_, kind, decimals, issuer, stewards, threshold, limit, max_balance, demurrage, supply, members) = items[
        :11
    ]
    if type(kind) is not str or kind not in _KINDS:
        raise DecodeError(f"currency: unknown kind {kind!r}")
    extension = NO_EXTENSION
    if version in (ENTRY_V2, ENTRY_V3):
        rules, levy, index, since, admissions, proposals, open_proposals = items[11:18]
        extension = CurrencyExtension(
            decode_rules(rules),
            codec.integer(levy, "levy", hi=1_000_000),
            codec.integer(index, "demurrage index"),
            codec.integer(since, "demurrage since"),
            codec.integer(admissions, "admissions"),
            codec.integer(proposals, "proposals", hi=UINT32_MAX),
            codec.integer(open_proposals, "open proposals", hi=UINT32_MAX),
            decode_terms(items[18]) if version == ENTRY_V3 else NO_TERMS,
        )
        if extension == NO_EXTENSION:
            raise DecodeError("currency: an extension with only defaults must use the version-1 layout")
        if version == ENTRY_V3 and extension.terms == NO_TERMS:
            raise DecodeError("currency: default terms must use the version-2 layout")
    return Currency(
        _key_code(rest),
        _KINDS[kind],
        codec.integer(decimals, "decimals", hi=255),
        codec.blob(issuer, "issuer", size=32),
        tuple(
            codec.blob(s, "steward", size=32) for s in codec.seq(stewards, "stewards", max_len=MAX_STEWARDS)
        ),
        codec.integer(threshold, "threshold", hi=255),
        codec.integer(limit, "limit"),
        codec.integer(max_balance, "max balance"),
        codec.integer(demurrage, "demurrage"),
        codec.integer(supply, "supply"),
        codec.integer(members, "members"),
        extension,
    )


def _decode_holding(rest: bytes, fields: object) -> Holding:
    version = fields[0] if type(fields) is tuple and fields else None
    if version == ENTRY_V2 and type(version) is int:
        _, balance, limit, role_code, index, admission = codec.array(fields, 6, "holding")
        role = _ROLE_BY_CODE.get(codec.integer(role_code, "role", hi=255))
        if role is None:
            raise DecodeError(f"holding: unknown role {role_code}")
        holding = Holding(
            rest[:32],
            _key_code(rest[32:]),
            codec.integer(balance, "balance", lo=-INT64_MAX),
            codec.integer(limit, "credit limit"),
            role,
            codec.integer(index, "demurrage index"),
            codec.integer(admission, "admission"),
        )
        if _v1_holding(holding.role, holding.demurrage_index, holding.admission):
            raise DecodeError("holding: a plain holding must use the version-1 layout")
        return holding
    version, balance, limit, member = codec.array(fields, 4, "holding")
    codec.tag(version, ENTRY_V1, "holding")
    return Holding(
        rest[:32],
        _key_code(rest[32:]),
        codec.integer(balance, "balance", lo=-INT64_MAX),
        codec.integer(limit, "credit limit"),
        _MEMBER if codec.boolean(member, "member") else _HOLDER,
    )


def _key_code(raw: bytes) -> str:
    """The currency code at the end of a state key (A–Z, 0–9 only)."""
    code = raw.decode("ascii", errors="replace")
    if not valid_code(code):
        raise DecodeError(f"state entry: {raw!r} is not a currency code")
    return code


class StateReader(Protocol):
    """Read access to committed state: the encoded entry under a key, or None."""

    def get_raw(self, key: bytes) -> bytes | None: ...


class EntryReader(StateReader, Protocol):
    """A ``StateReader`` that also keeps entries decoded (the node's store): ``get_entry`` gives
    the stored bytes and exactly their ``decode_entry``, (None, None) when absent. A root
    ``StateOverlay`` uses it instead of decoding ``get_raw`` itself."""

    def get_entry(self, key: bytes) -> tuple[bytes | None, Entry | None]: ...


@direct_init
@dataclass(frozen=True, slots=True)
class Change:
    """One entry changed by a ledger: its encoded value before (None if new) and after."""

    key: bytes
    old: bytes | None
    new: bytes
    entry: Entry


class StateOverlay:
    """Pending changes on top of committed state (or of another overlay).

    ``nested()`` gives a child overlay for one transaction: ``commit()`` merges it into its
    parent, dropping it discards everything it did. That is how a transaction's operations apply
    atomically. The root overlay caches what it read, so each entry is decoded once per ledger.
    """

    __slots__ = ("_base", "_cache", "_changed", "_load_entry", "_parent")

    def __init__(self, base: StateReader, parent: StateOverlay | None = None) -> None:
        self._base = base
        self._parent = parent
        self._cache: dict[bytes, tuple[bytes | None, Entry | None]] = {}
        self._changed: dict[bytes, Entry] = {}
        # A reader that keeps entries decoded across ledgers (``EntryReader``: the node's store)
        # hands them over whole; only the root overlay loads.
        self._load_entry: Callable[[bytes], tuple[bytes | None, Entry | None]] | None = (
            getattr(base, "get_entry", None) if parent is None else None
        )

    def nested(self) -> StateOverlay:
        return StateOverlay(self._base, self)

    def commit(self) -> None:
        """Merge this overlay's changes into its parent."""
        if self._parent is None:
            raise RuntimeError("the root overlay has no parent to commit into")
        self._parent._changed.update(self._changed)
        self._changed.clear()

    def get(self, key: bytes) -> Entry | None:
        overlay: StateOverlay | None = self
        while overlay is not None:
            found = overlay._changed.get(key)
            if found is not None:
                return found
            if overlay._parent is None:
                return overlay._load(key)[1]
            overlay = overlay._parent
        raise AssertionError("unreachable")  # pragma: no cover

    def put(self, entry: Entry) -> None:
        self._changed[entry.key] = entry

    def account(self, public_key: bytes) -> Account:
        found = self.get(account_key(public_key))
        return found if isinstance(found, Account) else new_account(public_key)

    def currency(self, code: str) -> Currency | None:
        found = self.get(currency_key(code))
        return found if isinstance(found, Currency) else None

    def holding(self, account: bytes, code: str) -> Holding | None:
        found = self.get(holding_key(account, code))
        return found if isinstance(found, Holding) else None

    def changes(self) -> list[Change]:
        """The root overlay's changes with their encoded before/after values, in key order."""
        if self._parent is not None:
            raise RuntimeError("only the root overlay knows the committed values")
        result = []
        for key in sorted(self._changed):
            entry = self._changed[key]
            old = self._load(key)[0]
            new = encode_entry(entry)
            if new != old:
                result.append(Change(key, old, new, entry))
        return result

    def _load(self, key: bytes) -> tuple[bytes | None, Entry | None]:
        cached = self._cache.get(key)
        if cached is None:
            if self._load_entry is not None:
                cached = self._load_entry(key)
            else:
                raw = self._base.get_raw(key)
                cached = (raw, None if raw is None else decode_entry(key, raw))
            self._cache[key] = cached
        return cached


class MemoryState:
    """Committed state in a dict: for tests, the simulator and the protocol benchmark."""

    def __init__(self) -> None:
        self.entries: dict[bytes, bytes] = {}

    def get_raw(self, key: bytes) -> bytes | None:
        return self.entries.get(key)

    def apply(self, changes: Iterable[Change]) -> None:
        for change in changes:
            self.entries[change.key] = change.new

    def decoded(self) -> Iterator[Entry]:
        for key, raw in self.entries.items():
            yield decode_entry(key, raw)


class StateAccumulator:
    """The running multiset hash of all entries (see the module docstring)."""

    MODULUS = 1 << 512
    SIZE = 64

    __slots__ = ("value",)

    def __init__(self, value: int = 0) -> None:
        self.value = value % self.MODULUS

    @classmethod
    def from_bytes(cls, data: bytes) -> StateAccumulator:
        if len(data) != cls.SIZE:
            raise DecodeError(f"state accumulator: expected {cls.SIZE} bytes, got {len(data)}")
        return cls(int.from_bytes(data, "big"))

    def to_bytes(self) -> bytes:
        return self.value.to_bytes(self.SIZE, "big")

    def updated(self, changes: Iterable[Change]) -> StateAccumulator:
        value = self.value
        for change in changes:
            if change.old is not None:
                value -= _entry_term(change.key, change.old)
            value += _entry_term(change.key, change.new)
        return StateAccumulator(value)

    def digest(self) -> bytes:
        """The 32-byte state hash that goes into the ledger header."""
        return blake2b256(self.to_bytes())


def _entry_term(key: bytes, raw: bytes) -> int:
    digest = hashlib.blake2b(
        len(key).to_bytes(2, "big") + key + raw, digest_size=64, person=b"tally.state"
    ).digest()
    return int.from_bytes(digest, "big")
