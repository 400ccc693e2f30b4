"""The sequence pages and the contact page's sequences panel in the pseudo-locale: no visible text outside
the translation layer (see tests/i18n/test_pseudo_locale for the method). The history's step details are
the engine's record, kept as written, like the workflow runs'."""

from __future__ import annotations

from sqlalchemy import select

from saas.db import tenant_session
from saas.modules.core.models import Contact
from saas.modules.sequences.models import SequenceEvent
from tests.conftest import login
from tests.i18n.test_pseudo_locale import page_leaks, pseudo_locale, pseudo_pages  # noqa: F401
from tests.modules.sequences.conftest import add_people, contact_ids, enrol, make_sequence, owner_id


def test_sequence_pages_show_no_text_outside_the_translation_layer(client, tenant_a, pseudo_locale):  # noqa: F811
    [person] = add_people(tenant_a, {"granted": 1})["granted"]
    [contact_id] = contact_ids(tenant_a, [person])
    sequence_id = make_sequence(tenant_a, name="Outreach")
    enrol(tenant_a, sequence_id, [contact_id])
    with tenant_session(tenant_a.ref) as session:
        details = set(session.scalars(select(SequenceEvent.detail)))
        last_name = session.scalar(select(Contact.last_name).where(Contact.id == contact_id))
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    pages = pseudo_pages(client, {
        "sequences": f"{base}/sequences",
        "new sequence": f"{base}/sequences/new",
        "sequence": f"{base}/sequences/{sequence_id}",
        "contact": f"{base}/contacts/{contact_id}",
    })  # fmt: skip
    data = {tenant_a.tenant.name, tenant_a.slug, tenant_a.email, str(owner_id(tenant_a)), "Outreach", person,
            "Granted0", last_name, f"Granted0 {last_name}", "Call them", "Hello {{ first_name }}",
            'Hi {{ first_name | "there" }}, a word.', "Following up", "Still there?",
            *details, "enrolled", "done"}  # fmt: skip
    leaks = {name: page_leaks(page, data) for name, page in pages.items()}
    assert {name: found for name, found in leaks.items() if found} == {}
