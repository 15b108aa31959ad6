"""``tally contact …``: a small address book; contact names work wherever an address does."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from protocol.addresses import encode_account
from wallet.cli.common import session
from wallet.cli.options import JsonOpt
from wallet.errors import BadInput
from wallet.home import check_name, parse_address

app = typer.Typer(
    name="contact",
    no_args_is_help=True,
    help="Contacts: name the addresses you pay, then use the names instead.",
)


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(metavar="NAME")],
    address: Annotated[str, typer.Argument(metavar="ADDRESS", help="Their tly1… address (checked).")],
    as_json: JsonOpt = False,
) -> None:
    """Save ADDRESS under NAME (replaces an earlier contact of that name).

    Examples:
      tally contact add bob tly1q…
    """
    with session(as_json) as s:
        check_name(name, "contact")
        if s.home.has_wallet(name):
            raise BadInput(f"{name!r} is already a wallet name; pick another contact name", code="bad_name")
        canonical = encode_account(parse_address(address))
        s.home.set_contact(name, canonical)
        s.emit({"name": name, "address": canonical}, [f"Contact {name}: {canonical}"])


@app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """List your contacts.

    Examples:
      tally contact list --json
    """
    with session(as_json) as s:
        contacts = [{"name": n, "address": a} for n, a in sorted(s.home.contacts().items())]

        def human(console: Console) -> None:
            if not contacts:
                console.print("No contacts yet: `tally contact add NAME ADDRESS`.", markup=False)
                return
            table = Table("name", "address", box=None)
            for c in contacts:
                table.add_row(c["name"], c["address"])
            console.print(table)

        s.emit({"contacts": contacts}, human)


@app.command("rm")
def rm(name: Annotated[str, typer.Argument(metavar="NAME")], as_json: JsonOpt = False) -> None:
    """Forget a contact.

    Examples:
      tally contact rm bob
    """
    with session(as_json) as s:
        address = s.home.contacts().get(name)
        if address is None:
            raise BadInput(f"no contact named {name!r}", code="unknown_name")
        s.home.set_contact(name, None)
        s.emit({"removed": name, "address": address}, [f"Removed contact {name}"])
