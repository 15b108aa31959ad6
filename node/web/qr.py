"""The "pay me" QR code of an account, as inline SVG (segno draws it; nothing is fetched).

It encodes the account's payment request without an amount (``protocol.payreq``: ``tally:ADDRESS
?v=1&net=…``), the same URI ``tally request`` prints, so ``tally pay`` or a phone wallet can use it;
a person can read and copy the address printed under it just as well.
"""

from __future__ import annotations

import io

import segno
from markupsafe import Markup

from protocol.payreq import PaymentRequest, build_uri, network_tag


def pay_uri(account: bytes, network_id: bytes) -> str:
    return build_uri(PaymentRequest(account, network_tag(network_id)))


def qr_svg(text: str, label: str) -> Markup:
    """An accessible SVG (``role="img"`` named ``label``), scaled by CSS."""
    code = segno.make(text, error="m")
    buffer = io.BytesIO()
    code.save(
        buffer,
        kind="svg",
        xmldecl=False,
        svgns=True,
        scale=4,
        border=4,
        title=label,
        dark="#000",
        light="#fff",
    )
    svg = buffer.getvalue().decode()
    return Markup(svg.replace("<svg ", f'<svg role="img" aria-label="{Markup.escape(label)}" class="qr" ', 1))
