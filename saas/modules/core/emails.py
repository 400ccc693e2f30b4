"""The syntax check of an email address that the API, the forms and imports share: the verdict and message of
``email_validator.validate_email(value, check_deliverability=False)``, with each domain checked once.

``validate_email`` spends most of its time on the part after the @-sign (a per-character IDNA/UTS-46 check),
and a file of 100,000 contacts has a few hundred domains. So ``check_email`` runs the same steps in the same
order with the library's own functions, but remembers the domain step's outcome (result or message) per
domain; ``tests/modules/core/test_import_speedups.py`` compares both on awkward addresses.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import email_validator
from email_validator import EmailNotValidError, EmailSyntaxError
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES
from email_validator.syntax import (
    split_email,
    validate_email_domain_literal,
    validate_email_domain_name,
    validate_email_length,
    validate_email_local_part,
)
from email_validator.types import ValidatedEmail

DOMAIN_CACHE_SIZE = 8_192
"""Distinct domains remembered; an import with more still validates each row, just without the saving."""

__all__ = ["EmailNotValidError", "check_email"]


def check_email(email: str) -> None:
    """Raise ``EmailNotValidError`` with ``validate_email``'s message if ``email`` is not a valid address.

    Follows ``email_validator.validate_email`` (2.x) step by step with ``check_deliverability=False`` and
    the library's module-level defaults for every other option, read at each call as it does.
    """
    options = email_validator
    if not isinstance(email, str):
        raise TypeError("email must be str")
    display_name, original_local_part, unescaped_local_part, is_quoted_local_part, domain_part = _split(email)
    info = ValidatedEmail()
    info.original = original_local_part + "@" + domain_part

    local_part_info = validate_email_local_part(
        unescaped_local_part,
        allow_smtputf8=options.ALLOW_SMTPUTF8,
        allow_empty_local=options.ALLOW_EMPTY_LOCAL,
        quoted_local_part=is_quoted_local_part,
        strict=options.STRICT,
    )
    info.smtputf8 = local_part_info["smtputf8"]
    normalized_local_part = unicodedata.normalize("NFC", unescaped_local_part)
    if normalized_local_part != unescaped_local_part:
        try:
            local_part_info = validate_email_local_part(
                normalized_local_part,
                allow_smtputf8=options.ALLOW_SMTPUTF8,
                allow_empty_local=options.ALLOW_EMPTY_LOCAL,
                quoted_local_part=is_quoted_local_part,
                strict=options.STRICT,
            )
        except EmailSyntaxError as error:
            raise EmailSyntaxError("After Unicode normalization: " + str(error)) from error
    info.local_part = local_part_info["local_part"]
    info.ascii_local_part = local_part_info["ascii_local_part"]
    if is_quoted_local_part and not options.ALLOW_QUOTED_LOCAL:
        raise EmailSyntaxError("Quoting the part before the @-sign is not allowed here.")
    if (
        info.ascii_local_part is not None
        and info.ascii_local_part.lower() in CASE_INSENSITIVE_MAILBOX_NAMES
        and info.local_part is not None
    ):
        info.ascii_local_part = info.ascii_local_part.lower()
        info.local_part = info.local_part.lower()

    if len(domain_part) == 0:
        raise EmailSyntaxError("There must be something after the @-sign.")
    if domain_part.startswith("[") and domain_part.endswith("]"):
        literal = validate_email_domain_literal(domain_part[1:-1])
        if not options.ALLOW_DOMAIN_LITERAL:
            raise EmailSyntaxError("A bracketed IP address after the @-sign is not allowed here.")
        info.domain = info.ascii_domain = literal["domain"]
    else:
        info.domain, info.ascii_domain = _checked_domain(
            domain_part,
            options.TEST_ENVIRONMENT,
            options.GLOBALLY_DELIVERABLE,
            tuple(options.SPECIAL_USE_DOMAIN_NAMES),
        )

    info.normalized = info.local_part + "@" + info.domain
    validate_email_length(info)
    if display_name is not None and not options.ALLOW_DISPLAY_NAME:
        raise EmailSyntaxError(
            "A display name and angle brackets around the email address are not permitted here."
        )


def _split(email: str) -> tuple[str | None, str, str, bool, str]:
    # The common case, plain ASCII with one unquoted @-sign and no angle brackets, splits at the @-sign:
    # split_email gets there too, but looks at every character for a combining mark, which ASCII never is.
    if email.isascii() and '"' not in email and "<" not in email and "@" in email:
        local, domain = email.split("@", 1)
        return None, local, local, False, domain
    display_name, local, unescaped, quoted, domain = split_email(email)
    return display_name, local, unescaped, quoted, domain


def _checked_domain(
    domain: str, test_environment: bool, globally_deliverable: bool, special_use: tuple[str, ...]
) -> tuple[str, str]:
    """(domain, ASCII domain) as ``validate_email_domain_name`` normalises them, or its syntax error."""
    outcome = _domain_outcome(domain, test_environment, globally_deliverable, special_use)
    if isinstance(outcome, str):
        # A new exception each time: one raised again and again would grow its traceback.
        raise EmailSyntaxError(outcome)
    return outcome


@lru_cache(maxsize=DOMAIN_CACHE_SIZE)
def _domain_outcome(
    domain: str, test_environment: bool, globally_deliverable: bool, special_use: tuple[str, ...]
) -> tuple[str, str] | str:
    # special_use is part of the key because validate_email_domain_name reads that module-level list.
    try:
        result = validate_email_domain_name(
            domain, test_environment=test_environment, globally_deliverable=globally_deliverable
        )
    except EmailSyntaxError as error:
        return str(error)
    return result["domain"], result["ascii_domain"]
