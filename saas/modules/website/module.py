"""Registration of the website module: the first-party tracking script and its ingestion endpoint, the
settings page with the snippet, visits on contact pages, the privacy hooks, and the hourly roll-up."""

from __future__ import annotations

from saas.i18n import N_
from saas.jobs.schedules import PeriodicJob, register_periodic
from saas.modules.registry import SUBJECT_VISITORS, Module, ProcessingActivity, RecordPanel, SettingsPage
from saas.modules.website import privacy
from saas.modules.website.consent import seed_purpose
from saas.modules.website.scoring import WEBSITE_VISITS
from saas.modules.website.segment_rules import WEBSITE_PAGE


def _pages():
    from saas.modules.website import views  # noqa: F401  (attaches the routes)
    from saas.modules.website.blueprints import pages

    return pages


def _public():
    from saas.modules.website import public as routes  # noqa: F401  (attaches the routes)
    from saas.modules.website.blueprints import tracking

    return tracking


def _panel(session, record_type, record):
    from saas.modules.website.panel import visits_panel

    return visits_panel(session, record_type, record)


def _followed_link(session, url, contact_id) -> str:
    from saas.modules.website.identity import mark_followed_link

    return mark_followed_link(session, url, contact_id)


def _on_event(session, event, payload, changes) -> None:
    from saas.modules.website.visits import on_event

    on_event(session, event, payload, changes)


def _page_view_retention(session) -> str:
    from flask_babel import gettext as _

    from saas.modules.website.models import DEFAULT_RETENTION_DAYS, WebsiteSettings

    # Read without creating the settings row: the records of processing only look.
    settings = session.get(WebsiteSettings, 1)
    days = settings.retention_days if settings else DEFAULT_RETENTION_DAYS
    return _("Page views are deleted after %(days)s days (website settings); daily totals stay.", days=days)


MODULE = Module(
    key="website",
    title=N_("Website activity"),
    models="saas.modules.website.models",
    pages=_pages,
    public=_public,
    seed=seed_purpose,
    settings=(
        SettingsPage(
            N_("Website"),
            "website.settings",
            N_("The tracking script's snippet, your sites, and how long page views are kept."),
        ),
    ),
    personal_data=privacy.personal_data,
    erase_person=privacy.erase_person,
    record_panels=(RecordPanel("website/_panel.html", _panel, record_types=("contacts",), order=45),),
    followed_link=_followed_link,
    segment_fields=(WEBSITE_PAGE,),
    score_signals=(WEBSITE_VISITS,),
    event_listeners=(_on_event,),
    processing=(
        ProcessingActivity(
            N_("Website activity"),
            N_("Recording the pages your visitors view once they consent, and joining them to contacts."),
            (SUBJECT_VISITORS,),
            (N_("Pages viewed and when"), N_("A random visitor identifier")),
            consent_purposes=("website_analytics",),
            retention=_page_view_retention,
        ),
    ),
)

register_periodic(PeriodicJob("saas.modules.website.rollup.roll_up_all", interval=3600))
