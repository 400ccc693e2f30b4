"""The consent purpose website tracking needs: the site's own banner asks for it, and the tracking script
does nothing (no cookie, no request) until the site reports the visitor's yes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.i18n import N_

PURPOSE_KEY = "website_analytics"
PURPOSE_TITLE = N_("Website analytics")
PURPOSE_NOTICE = (
    "We may record the pages you view on our website under a random identifier, and link them to you "
    "once you fill in one of our forms or click a link in our emails. You can withdraw at any time."
)


def seed_purpose(session: Session) -> None:
    """A new workspace's ``website_analytics`` purpose (migration t0033 adds it to older ones)."""
    from saas.modules.privacy.consent import add_purpose
    from saas.modules.privacy.models import ConsentPurpose

    if session.scalar(select(ConsentPurpose.id).where(ConsentPurpose.key == PURPOSE_KEY)) is None:
        add_purpose(session, PURPOSE_KEY, PURPOSE_TITLE, PURPOSE_NOTICE)
