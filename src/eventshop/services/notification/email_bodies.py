"""A draft as the email's plain-text and HTML bodies, from the Jinja2 templates in templates/.

Jinja2 is imported on the first email rather than at start, so a Notification process that has not
mailed yet does not hold it (tests/integration/test_process_imports.py).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from eventshop.services.notification.domain import SHOP_NAME, Draft

if TYPE_CHECKING:
    from jinja2 import Template

TEMPLATES = Path(__file__).parent / "templates"


@cache
def _templates() -> tuple[Template, Template]:
    """The plain-text and HTML templates, compiled once: they ship with the code, so nothing reloads them."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                              undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True)
    return environment.get_template("email.txt"), environment.get_template("email.html")


def first_name(name: str) -> str:
    """The greeting's name, as the shop's header shows it: "Ada Lovelace" -> "Ada"."""
    return (name.split() or [name])[0]


def render(draft: Draft, name: str, shop_url: str) -> tuple[str, str]:
    """Plain-text and HTML bodies; `shop_url` is the frontend's base URL, for the links back to the shop."""
    shop_url = shop_url.rstrip("/")
    values = {"draft": draft, "name": first_name(name), "subject": draft.subject or "", "shop_name": SHOP_NAME,
              "shop_url": shop_url, "link": f"{shop_url}{draft.link}" if draft.link else None}
    text, html = _templates()
    return text.render(values), html.render(values)
