"""Hypothesis strategies for everything protocol version 3 encodes: currency terms, the new
operations, proposal actions and ledger entries (any value the decoders accept)."""

from __future__ import annotations

from hypothesis import strategies as st

from protocol import codec
from protocol.designs.actions import (
    MAX_RATE_TERM,
    AgreeExchange,
    DelistBusiness,
    DesignAction,
    ListBusiness,
    SetAccreditation,
)
from protocol.designs.entries import Accreditation, Business, DesignEntry, ExchangeAgreement, Guardianship
from protocol.designs.operations import (
    MAX_CATEGORY_CHARS,
    MAX_GUARDIANS,
    MAX_HOPS,
    MAX_NAME_CHARS,
    MAX_OFFER_CHARS,
    MAX_SERVICE_CHARS,
    Accredit,
    ApproveRecovery,
    CancelRecovery,
    CreditHours,
    DesignOperation,
    ExchangePay,
    FinishRecovery,
    Hop,
    RegisterBusiness,
    RemoveBusiness,
    SetGuardians,
)
from protocol.designs.terms import Acceptance, CurrencyTerms

INT64_MAX = codec.INT64_MAX
keys32 = st.binary(min_size=32, max_size=32)
codes = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=12)
amounts = st.integers(min_value=0, max_value=INT64_MAX)
small = st.integers(min_value=0, max_value=255)
numbers = st.integers(min_value=0, max_value=codec.UINT32_MAX)
rate_terms = st.integers(min_value=0, max_value=MAX_RATE_TERM)


def texts(max_size: int) -> st.SearchStrategy[str]:
    return st.text(max_size=max_size)


terms: st.SearchStrategy[CurrencyTerms] = st.builds(CurrencyTerms, st.booleans(), st.sampled_from(Acceptance))

design_operations: st.SearchStrategy[DesignOperation] = st.one_of(
    st.builds(Accredit, codes, keys32, amounts, st.booleans()),
    st.builds(CreditHours, codes, keys32, amounts, texts(MAX_SERVICE_CHARS)),
    st.builds(
        RegisterBusiness,
        codes,
        keys32,
        texts(MAX_NAME_CHARS),
        texts(MAX_CATEGORY_CHARS),
        texts(MAX_OFFER_CHARS),
    ),
    st.builds(RemoveBusiness, codes, keys32),
    st.builds(
        ExchangePay,
        keys32,
        amounts,
        codes,
        amounts,
        st.lists(st.builds(Hop, codes, numbers), max_size=MAX_HOPS).map(tuple),
    ),
    st.builds(SetGuardians, st.lists(keys32, max_size=MAX_GUARDIANS).map(tuple), small, numbers),
    st.builds(ApproveRecovery, keys32, keys32),
    st.just(CancelRecovery()),
    st.builds(FinishRecovery, keys32),
)

design_actions: st.SearchStrategy[DesignAction] = st.one_of(
    st.builds(SetAccreditation, keys32, amounts, st.booleans()),
    st.builds(ListBusiness, keys32, texts(MAX_NAME_CHARS), texts(MAX_CATEGORY_CHARS), texts(MAX_OFFER_CHARS)),
    st.builds(DelistBusiness, keys32),
    st.builds(AgreeExchange, codes, rate_terms, rate_terms, amounts, amounts),
)


@st.composite
def agreements(draw: st.DrawFn) -> ExchangeAgreement:
    a, b = draw(st.lists(codes, min_size=2, max_size=2, unique=True).map(sorted))
    positive = st.integers(min_value=1, max_value=MAX_RATE_TERM)
    return ExchangeAgreement(
        a,
        b,
        draw(st.integers(min_value=1, max_value=codec.UINT32_MAX)),
        draw(positive),
        draw(positive),
        draw(amounts),
        draw(amounts),
        draw(st.booleans()),
        draw(st.booleans()),
    )


design_entries: st.SearchStrategy[DesignEntry] = st.one_of(
    st.builds(Accreditation, codes, keys32, amounts, amounts, amounts, st.booleans()),
    st.builds(
        Business,
        codes,
        keys32,
        texts(MAX_NAME_CHARS),
        texts(MAX_CATEGORY_CHARS),
        texts(MAX_OFFER_CHARS),
        st.booleans(),
    ),
    agreements(),
    st.builds(
        Guardianship,
        keys32,
        st.lists(keys32, max_size=MAX_GUARDIANS).map(tuple),
        small,
        numbers,
        st.lists(st.tuples(keys32, keys32), max_size=MAX_GUARDIANS).map(tuple),
        st.sampled_from([b"", bytes(32), b"\x07" * 32]),
        amounts,
    ),
)
