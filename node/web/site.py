"""Rendering: one Jinja2 environment per language (with its catalogue installed), the page
wrapper that turns bad input into a 400/404 page and a bug into a 500 page (never a stack trace),
and the language cookie.

Templates autoescape everything: memos, currency codes and every other text from the ledger stay
text. Values that are already safe HTML (SVG charts, the QR code) are built with ``markupsafe``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.templating import Jinja2Templates

from node.api.errors import ApiError
from node.web import format as fmt
from node.web.i18n import COOKIE, DEFAULT, LANGUAGES, Language, choose, translations

logger = logging.getLogger("tally.web")

COOKIE_MAX_AGE_S = 365 * 24 * 3600
MAX_DETAIL_CHARS = 160  # of an English error detail shown on a page


class PageError(Exception):
    """A page that cannot be shown: answered with an error page of this status. The message is
    text, or ``Markup`` built by ``node.web.inputs.say`` (identifiers marked not to translate)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class Page:
    """One request's rendering context: its language, gettext and templates."""

    request: Request
    language: Language
    remember: bool  # the language was chosen with ?lang=: keep it in a cookie
    templates: Jinja2Templates
    headers: dict[str, str] = field(default_factory=dict)

    def gettext(self, message: str) -> str:
        return translations(self.language.code).gettext(message)

    def render(self, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
        body = {"request": self.request, "lang": self.language, "languages": LANGUAGES.values(), **context}
        response = self.templates.TemplateResponse(self.request, name, body, status_code=status)
        response.headers.update(self.headers)
        if self.remember:
            response.set_cookie(COOKIE, self.language.code, max_age=COOKIE_MAX_AGE_S, samesite="lax")
        response.headers["content-language"] = self.language.code
        return response


class Site:
    """The templates of every language, built once."""

    def __init__(self) -> None:
        folder = resources.files("node.web").joinpath("templates")
        self._templates = {code: Jinja2Templates(env=_environment(str(folder), code)) for code in LANGUAGES}

    def page(self, request: Request) -> Page:
        language, remember = choose(request)
        return Page(request, language, remember, self._templates[language.code])


PageHandler = Callable[[Page], Awaitable[Response]]


def serve(site: Site, handler: PageHandler) -> Callable[[Request], Awaitable[Response]]:
    """A page endpoint: bad input (``PageError``, or an ``ApiError`` from a shared parser)
    becomes an error page with its status; any other exception a 500 page, logged."""

    async def endpoint(request: Request) -> Response:
        page = site.page(request)
        try:
            return await handler(page)
        except PageError as exc:
            return error_page(page, exc.status, exc.message)
        except ApiError as exc:
            return error_page(page, exc.status, api_error_text(page, exc))
        except Exception:
            logger.exception("page failed", extra={"fields": {"path": request.url.path}})
            return error_page(
                page, 500, page.gettext("This node hit an internal error. Its log has the details.")
            )

    return endpoint


def api_error_text(page: Page, error: ApiError) -> str:
    """An API parser's refusal on a page: its English detail (cut short: it may quote the
    input) on English pages, a translated general message on the others (the pages parse their
    own inputs with translated messages, ``node.web.inputs``; this is the fallback)."""
    general = {
        400: page.gettext("Something in this link is not valid: check it and try again."),
        404: page.gettext("This node knows nothing at this address."),
    }.get(error.status, page.gettext("This node could not answer this request."))
    if page.language.code != DEFAULT:
        return general
    return error.message if len(error.message) <= MAX_DETAIL_CHARS else error.message[:MAX_DETAIL_CHARS] + "…"


def error_page(page: Page, status: int, message: str) -> HTMLResponse:
    titles = {
        400: page.gettext("This link is not valid"),
        404: page.gettext("Not found"),
        429: page.gettext("Too many requests"),
    }
    title = titles.get(status, page.gettext("Something went wrong"))
    return page.render("error.html", {"status": status, "title": title, "message": message}, status=status)


def _environment(folder: str, code: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,  # a misspelt name fails the page (and its test), not silently
        trim_blocks=True,
        lstrip_blocks=True,
    )
    gettext = translations(code)
    env.install_gettext_translations(gettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["time"] = fmt.time
    env.filters["iso_time"] = fmt.iso_time
    env.filters["month"] = fmt.month
    env.filters["percent"] = fmt.percent
    env.filters["duration"] = lambda seconds: fmt.duration(seconds, gettext.gettext)
    return env
