"""A currency's terms from protocol version 3: whether its time credits are guaranteed, and whom
a plain holder may pay.

* ``guaranteed`` (time currencies): the creator is the guarantor. It accredits organisations
  with hour quotas; only they credit hours, and every credit is the guarantor's liability
  (``protocol.designs.credits``). Guaranteed credits never decay and are not exchanged.
* ``accept``: ``anyone`` (every currency so far), ``registered`` (an issued currency spent only
  with registered businesses: ``protocol.designs.local``), or ``providers`` (guaranteed credits
  redeemed only with accredited organisations; ``anyone`` there lets peers pay each other).

A leaf module (codec, fields and results only), so ``protocol.state`` can store the terms in a
currency entry and ``protocol.operations`` can carry them in ``create_currency``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from protocol import codec
from protocol.errors import DecodeError
from protocol.fields import CurrencyKind
from protocol.results import ResultCode


class Acceptance(enum.Enum):
    """Whom a holder who is neither the issuer nor a privileged account may pay; the value is its
    stable name (CLI ``--accept``, API JSON)."""

    ANYONE = "anyone"
    REGISTERED = "registered"  # registered businesses only (issued currencies)
    PROVIDERS = "providers"  # accredited organisations only (guaranteed time credits)


_ACCEPT_CODES = {Acceptance.ANYONE: 0, Acceptance.REGISTERED: 1, Acceptance.PROVIDERS: 2}
_ACCEPT_BY_CODE = {code: accept for accept, code in _ACCEPT_CODES.items()}


@dataclass(frozen=True, slots=True)
class CurrencyTerms:
    guaranteed: bool = False
    accept: Acceptance = Acceptance.ANYONE

    @property
    def checks_payments(self) -> bool:
        """Whether payments must check whom they reach, or record redemptions (not the fast path)."""
        return self.guaranteed or self.accept is not Acceptance.ANYONE


NO_TERMS = CurrencyTerms()


def terms_refusal(terms: CurrencyTerms, kind: CurrencyKind, demurrage_ppm: int) -> ResultCode | None:
    """Why a currency of ``kind`` cannot have these terms, or None when it can."""
    if terms.guaranteed and kind is not CurrencyKind.TIME:
        return ResultCode.WRONG_KIND  # a guarantor promises hours of care: a time currency
    if terms.accept is Acceptance.REGISTERED and kind is not CurrencyKind.ISSUED:
        return ResultCode.WRONG_KIND  # members of mutual credit owe each other; anyone may be paid
    if terms.accept is Acceptance.PROVIDERS and not terms.guaranteed:
        return ResultCode.WRONG_KIND  # providers are accredited by a guarantor
    if terms.guaranteed and demurrage_ppm:
        return ResultCode.GUARANTEED_CREDITS
    return None


def encode_terms(terms: CurrencyTerms) -> tuple[object, ...]:
    return (terms.guaranteed, _ACCEPT_CODES[terms.accept])


def decode_terms(obj: object) -> CurrencyTerms:
    guaranteed, accept = codec.array(obj, 2, "currency terms")
    accept_code = codec.integer(accept, "acceptance", hi=255)
    if accept_code not in _ACCEPT_BY_CODE:
        raise DecodeError(f"currency terms: unknown acceptance {accept_code}")
    return CurrencyTerms(codec.boolean(guaranteed, "guaranteed"), _ACCEPT_BY_CODE[accept_code])
