"""The campaign audience, built in set-based SQL, equals the old per-contact path on varied data: the
consent gate is ``may_contact`` itself, the suppression list is ``is_suppressed`` itself, and duplicate
addresses are told apart by Python's own ``lower()``, for plain and for non-ASCII addresses alike."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from saas.db import tenant_session
from saas.modules.core.models import Contact
from saas.modules.marketing.models import Campaign, CampaignRecipient
from saas.modules.marketing.sending import PURPOSE, snapshot_audience
from saas.modules.privacy.consent import may_contact
from saas.modules.privacy.models import ConsentEvent, ConsentNotice, ConsentPurpose
from saas.modules.privacy.subject import is_suppressed, suppress_email
from tests.modules.marketing.conftest import make_campaign

# (email, email-marketing statuses oldest first, other purpose's statuses, suppressed as)
PEOPLE: list[tuple[str | None, list[str], list[str], str | None]] = [
    (None, ["granted"], [], None),
    ("", ["granted"], [], None),
    ("granted@ex.org", ["granted"], [], None),
    ("withdrawn@ex.org", ["granted", "withdrawn"], [], None),
    ("pending@ex.org", ["pending"], [], None),
    ("never@ex.org", [], [], None),
    ("regranted@ex.org", ["granted", "withdrawn", "granted"], [], None),
    ("other-purpose@ex.org", [], ["granted"], None),
    ("other-withdrawn@ex.org", ["granted"], ["withdrawn"], None),
    ("erased@ex.org", ["granted"], [], "erased@ex.org"),
    ("Erased.Upper@Ex.ORG", ["granted"], [], "erased.upper@ex.org"),
    (" spaced@ex.org ", ["granted"], [], "spaced@ex.org"),
    ("JÜRGEN@ex.org", ["granted"], [], "jürgen@ex.org"),
    ("İstanbul@ex.org", ["granted"], [], None),
    ("erased-no-consent@ex.org", [], [], "erased-no-consent@ex.org"),
    ("dup@ex.org", ["granted"], [], None),
    ("DUP@ex.org", ["granted"], [], None),
    ("Dup@Ex.org", ["withdrawn"], [], None),
    ("first-refused@ex.org", ["withdrawn"], [], None),
    ("FIRST-REFUSED@ex.org", ["granted"], [], None),
    ("kate@ex.org", ["granted"], [], None),
    ("\u212aate@ex.org", ["granted"], [], None),  # KELVIN SIGN: Python lowers it to "kate@ex.org"
    ("Ärger@ex.org", ["granted"], [], None),
    ("ärger@ex.org", ["granted"], [], None),
    ("tab\t@ex.org", ["granted"], [], None),
]


def _seed(tenant) -> None:
    started = datetime.now(UTC) - timedelta(days=1)
    with tenant_session(tenant.ref) as session:
        notices = dict(
            session.execute(
                select(ConsentPurpose.key, ConsentNotice.id).join(
                    ConsentNotice, ConsentNotice.purpose_id == ConsentPurpose.id
                )
            ).all()
        )
        purposes = dict(session.execute(select(ConsentPurpose.key, ConsentPurpose.id)).all())
        contacts, events = [], []
        for i, (email, statuses, other, suppressed) in enumerate(PEOPLE):
            contact_id = uuid.uuid4()
            # Distinct creation times in list order: which of two duplicates is "first" is known.
            contacts.append(
                {"id": contact_id, "first_name": f"P{i}", "last_name": "p", "email": email,
                 "created_at": started + timedelta(minutes=i)}
            )  # fmt: skip
            for key, history in ((PURPOSE, statuses), ("sms_marketing", other)):
                events += [
                    {"contact_id": contact_id, "purpose_id": purposes[key], "notice_id": notices[key],
                     "status": status, "lawful_basis": "consent", "source": "staff", "actor": "test"}
                    for status in history
                ]  # fmt: skip
            if suppressed:
                suppress_email(session, suppressed, None)
        session.execute(insert(Contact), contacts)
        session.execute(insert(ConsentEvent), events)


def _old_path(tenant) -> tuple[set[tuple[uuid.UUID, str]], dict[str, int]]:
    """The audience as the per-contact loop built it: may_contact, is_suppressed, Python's lower()."""
    with tenant_session(tenant.ref) as session:
        people = session.execute(
            select(Contact.id, Contact.email)
            .where(Contact.last_name == "p")
            .order_by(Contact.created_at, Contact.id)
        ).all()
        counts = {"in_segment": len(people), "no_email": 0, "no_consent": 0, "suppressed": 0, "duplicate": 0}
        allowed, seen = set(), set()
        for contact_id, email in people:
            if not email:
                counts["no_email"] += 1
            elif not may_contact(session, contact_id, PURPOSE):
                counts["no_consent"] += 1
            elif is_suppressed(session, email):
                counts["suppressed"] += 1
            elif email.lower() in seen:
                counts["duplicate"] += 1
            else:
                seen.add(email.lower())
                allowed.add((contact_id, email))
        return allowed, counts | {"queued": len(allowed)}


def test_set_based_audience_equals_may_contact_and_the_suppression_list(tenant_a):
    _seed(tenant_a)
    expected, expected_counts = _old_path(tenant_a)
    campaign_id = uuid.UUID(make_campaign(tenant_a))

    with tenant_session(tenant_a.ref) as session:
        counts = snapshot_audience(session, session.get(Campaign, campaign_id))
        recipients = session.execute(
            select(CampaignRecipient.contact_id, CampaignRecipient.email, CampaignRecipient.id).where(
                CampaignRecipient.campaign_id == campaign_id
            )
        ).all()

    assert {(contact_id, email) for contact_id, email, _ in recipients} == expected
    assert counts == expected_counts
    # The data is varied enough to exercise every branch.
    assert all(counts[key] >= 2 for key in ("no_email", "no_consent", "suppressed", "duplicate", "queued"))
    # Recipients are queued in the segment's order (earliest recorded first), as the sender claims them.
    by_email = {email: i for i, (email, *_) in enumerate(PEOPLE)}
    queued = [email for _, email, _ in sorted(recipients, key=lambda row: row[2])]
    assert queued == sorted(queued, key=by_email.__getitem__)
