"""A campaign's content: sanitised HTML, merge fields, its links, and one recipient's message.

HTML is cleaned by nh3 (Ammonia) when saved, so neither a mail client nor the preview page ever gets
script, event handlers or ``javascript:`` links. Links are rewritten per recipient to signed click
redirects at send time, so the stored body stays the author's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, make_msgid
from html import escape, unescape
from typing import Any

import nh3

from saas.errors import ValidationError
from saas.i18n import N_

MERGE_FIELDS = ("first_name", "last_name", "full_name", "email", "company")
# {{ first_name }} or {{ first_name | "there" }} (a fallback when the contact has no value).
_MERGE = re.compile(r"\{\{\s*([a-z_]+)\s*(?:\|\s*\"([^\"{}]{0,100})\"\s*)?\}\}")
_HREF = re.compile(r'href="(https?://[^"]+)"')
_TEXT_URL = re.compile(r"https?://[^\s<>\"')\]]+")
_ALLOWED_STYLE = {
    "color",
    "background-color",
    "font-family",
    "font-size",
    "font-weight",
    "font-style",
    "text-align",
    "text-decoration",
    "line-height",
    "padding",
    "margin",
    "border",
    "width",
    "max-width",
    "height",
}
_EXTRA_TAGS = {"center", "font", "table", "tbody", "thead", "tr", "td", "th", "img", "hr", "span", "div"}


def sanitise_html(html: str) -> str:
    """The HTML a campaign may hold: formatting, tables, images and http(s)/mailto links only."""
    attributes = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
    for tag in (
        "table",
        "td",
        "th",
        "tr",
        "img",
        "div",
        "span",
        "p",
        "a",
        "h1",
        "h2",
        "h3",
        "font",
        "center",
    ):
        attributes.setdefault(tag, set()).update({"style", "align", "width", "height"})
    attributes["img"].update({"src", "alt"})
    attributes["a"].update({"href", "title"})
    return nh3.clean(
        html,
        tags=set(nh3.ALLOWED_TAGS) | _EXTRA_TAGS,
        attributes=attributes,
        url_schemes={"http", "https", "mailto"},
        filter_style_properties=_ALLOWED_STYLE,
        link_rel=None,
    )


def check_merge_fields(**bodies: str) -> None:
    """Refuse a body naming a merge field we do not know (a typo would mail ``{{ frist_name }}``)."""
    errors = {}
    for name, body in bodies.items():
        unknown = sorted({m.group(1) for m in _MERGE.finditer(body or "")} - set(MERGE_FIELDS))
        if unknown:
            errors[name] = [
                N_(
                    "Unknown merge field %(field)s; use: %(fields)s.",
                    field=repr(unknown[0]),
                    fields=", ".join(MERGE_FIELDS),
                )
            ]
    if errors:
        raise ValidationError(N_("The content names unknown merge fields."), errors)


def extract_links(html: str, text: str) -> list[str]:
    """Every http(s) link of both bodies, in order of first appearance (the campaign's link table)."""
    found = [unescape(url) for url in _HREF.findall(html or "")] + _TEXT_URL.findall(text or "")
    return [url for url in dict.fromkeys(found) if "{{" not in url and len(url) <= 2000]


def merge(body: str, values: dict[str, str | None], *, html: bool) -> str:
    def replace(match: re.Match) -> str:
        value = values.get(match.group(1)) or match.group(2) or ""
        return escape(value) if html else value

    return _MERGE.sub(replace, body or "")


def merge_values(contact: Any) -> dict[str, str | None]:
    account = getattr(contact, "account", None)
    return {
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "full_name": " ".join(p for p in (contact.first_name, contact.last_name) if p) or None,
        "email": contact.email,
        "company": account.name if account else None,
    }


@dataclass(frozen=True)
class Sender:
    name: str
    email: str
    reply_to: str | None
    postal_address: str | None


@dataclass(frozen=True)
class FooterText:
    """The words every campaign mail adds, in the recipient's language (see :func:`footer_text`)."""

    reason: str = "You receive this email because you agreed to hear from %(sender)s."
    unsubscribe: str = "Unsubscribe"
    test: str = "Test message: no links are tracked."


def footer_text(locale: str | None) -> FooterText:
    """The footer in ``locale`` (else the default language); sending asks once per language, not per mail."""
    from flask_babel import gettext

    from saas.i18n import in_locale

    with in_locale(locale):
        return FooterText(
            gettext("You receive this email because you agreed to hear from %(sender)s."),
            gettext("Unsubscribe"),
            gettext("Test message: no links are tracked."),
        )


@dataclass(frozen=True)
class TrackedUrls:
    """One recipient's signed URLs; ``click`` maps a campaign link's URL to its redirect."""

    open_pixel: str
    unsubscribe: str
    click: dict[str, str]


def _rewrite_html(html: str, clicks: dict[str, str]) -> str:
    def replace(match: re.Match) -> str:
        target = clicks.get(unescape(match.group(1)))
        return f'href="{escape(target)}"' if target else match.group(0)

    return _HREF.sub(replace, html)


def _rewrite_text(text: str, clicks: dict[str, str]) -> str:
    return _TEXT_URL.sub(lambda m: clicks.get(m.group(0), m.group(0)), text)


def build_message(
    *,
    sender: Sender,
    to: str,
    subject: str,
    html_body: str,
    text_body: str,
    values: dict[str, str | None],
    urls: TrackedUrls | None,
    message_id: str | None = None,
    footer: FooterText = FooterText(),
) -> MIMEMultipart:
    """The MIME message for one recipient: merged, links tracked, an unsubscribe footer and the
    RFC 8058 one-click headers. Without ``urls`` (a test send) links stay as written."""
    html = merge(html_body, values, html=True)
    text = merge(text_body, values, html=False)
    address = f"<br>{escape(sender.postal_address)}" if sender.postal_address else ""
    if urls is not None:
        html = _rewrite_html(html, urls.click)
        text = _rewrite_text(text, urls.click)
        reason = escape(footer.reason) % {"sender": escape(sender.name)}
        html += (
            f'<p style="color: #666666; font-size: 12px;">{reason} '
            f'<a href="{escape(urls.unsubscribe)}">{escape(footer.unsubscribe)}</a>{address}</p>'
            f'<img src="{escape(urls.open_pixel)}" width="1" height="1" alt="">'
        )
        text += f"\n\n--\n{footer.unsubscribe}: {urls.unsubscribe}\n"
    else:
        html += f'<p style="color: #666666; font-size: 12px;">{escape(footer.test)}{address}</p>'
        text += f"\n\n--\n{footer.test}\n"
    # email.mime with the compat32 policy: several times faster to build than EmailMessage's header
    # objects, which counts at thousands of messages a minute.
    message = MIMEMultipart("alternative")
    message["From"] = formataddr((sender.name, sender.email), charset="utf-8")
    message["To"] = to
    subject_line = merge(subject, values, html=False)
    message["Subject"] = subject_line if subject_line.isascii() else Header(subject_line, "utf-8")
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = message_id or make_msgid(domain=sender.email.rsplit("@", 1)[-1])
    if sender.reply_to:
        message["Reply-To"] = sender.reply_to
    if urls is not None:
        message["List-Unsubscribe"] = f"<{urls.unsubscribe}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.attach(MIMEText(text, "plain", "utf-8"))
    message.attach(MIMEText(f"<!doctype html><html><body>{html}</body></html>", "html", "utf-8"))
    return message
