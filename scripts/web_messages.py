#!/usr/bin/env python3
"""The web pages' message catalogues: extract the English messages, update each language's
``.po`` file, check that every message is translated.

    scripts/web_messages.py extract   # node/web/locale/messages.pot from the templates and node/web/*.py
    scripts/web_messages.py update    # merge it into node/web/locale/<lang>/LC_MESSAGES/messages.po
    scripts/web_messages.py check     # exit 1 naming every message a language lacks (a test runs it)

Translators edit the ``.po`` files (any gettext editor works: Poedit, Lokalize, a text editor);
the node compiles them when it starts. Besides the messages marked in the templates and in
``node/web`` (``_()``, ``gettext()``), the catalogue carries the result-code explanations of
``protocol/results.py``, which the transaction and proposal pages show translated. ``check`` fails
on any of them untranslated: an Arabic page shows no English but what people wrote (memos, titles,
names) and identifiers (addresses, hashes, codes), so whoever adds a result code to the protocol
adds its translation too (``update``, then translate its ``msgstr``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from node.web.i18n import DEFAULT, LANGUAGES
from protocol.results import ResultCode

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "node" / "web"
LOCALE = WEB / "locale"
TEMPLATE = LOCALE / "messages.pot"
METHODS = [("templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
OPTIONS = {
    "templates/**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}
}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}


def extract() -> Catalog:
    catalog = Catalog(project="Tally", msgid_bugs_address="", copyright_holder="", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        WEB, METHODS, options_map=OPTIONS, keywords=KEYWORDS, strip_comment_tags=True
    ):
        catalog.add(
            message, None, [(f"node/web/{filename}", lineno)], auto_comments=comments, context=context
        )
    for code in ResultCode:
        catalog.add(
            code.explanation, None, [("protocol/results.py", 0)], auto_comments=[f"result code {code.value}"]
        )
    return catalog


def language_file(code: str) -> Path:
    return LOCALE / code / "LC_MESSAGES" / "messages.po"


def missing(code: str, template: Catalog) -> list[str]:
    """Messages of ``template`` that language ``code`` does not translate (or marks fuzzy)."""
    with language_file(code).open("rb") as handle:
        catalog = read_po(handle, locale=code)
    lacking = []
    for message in template:
        if not message.id:
            continue
        found = catalog.get(message.id, message.context)
        if (
            found is None
            or not found.string
            or found.fuzzy
            or (isinstance(found.string, tuple) and not all(found.string))
        ):
            lacking.append(str(message.id))
    return lacking


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("action", choices=["extract", "update", "check"])
    action = parser.parse_args().action
    template = extract()
    if action == "extract":
        with TEMPLATE.open("wb") as handle:
            write_po(handle, template, width=100, omit_header=False, sort_output=False)
        print(f"{len(template)} messages in {TEMPLATE.relative_to(ROOT)}")
        return 0
    if action == "update":
        for code in LANGUAGES:
            if code == DEFAULT:
                continue
            path = language_file(code)
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists():
                with path.open("rb") as handle:
                    catalog = read_po(handle, locale=code)
            else:
                catalog = Catalog(locale=code, project="Tally")
            catalog.update(template, update_header_comment=False)
            with path.open("wb") as handle:
                write_po(handle, catalog, width=100, ignore_obsolete=True)
            print(
                f"{code}: {len(catalog)} messages, {len(missing(code, template))} to translate ({path.relative_to(ROOT)})"
            )
        return 0
    failures = 0
    for code in LANGUAGES:
        if code == DEFAULT:
            continue
        for message in missing(code, template):
            print(f"{code}: not translated: {message!r}")
            failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
