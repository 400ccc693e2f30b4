"""Names the product seeds into a new workspace (the default pipeline's stages, the consent purposes) are
stored in English and shown in the reader's language; a name the workspace changed is shown as written."""

from __future__ import annotations

from decimal import Decimal

from saas.db import tenant_session
from saas.modules.core import services
from saas.modules.sfa import pipelines
from saas.modules.sfa.deals import deals
from tests.conftest import login

GERMAN = {"Accept-Language": "de"}


def test_seeded_stage_names_are_translated_and_a_renamed_stage_keeps_its_own(client, tenant_a):
    with tenant_session(tenant_a.ref) as session:
        deal = deals.create(session, {"name": "Boxes", "amount": Decimal("5.00"), "currency": "EUR"})
        stages = {stage.name: stage.id for stage in pipelines.default_pipeline(session).stages}
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/deals?columns=name,stage", headers=GERMAN).text
    assert "Akquise" in page and "Prospecting" not in page  # the seeded name, in the reader's language
    for shown in (f"/t/{tenant_a.slug}/deals/{deal.id}", f"/t/{tenant_a.slug}/pipeline"):  # select, board
        page = client.get(shown, headers=GERMAN).text
        assert "Akquise (" in page and ">Prospecting (" not in page, shown  # the stage select's options

    with tenant_session(tenant_a.ref) as session:
        pipelines.update_stage(session, stages["Prospecting"], {"name": "Erstgespräch geplant"})
    page = client.get(f"/t/{tenant_a.slug}/deals?columns=name,stage", headers=GERMAN).text
    assert "Erstgespräch geplant" in page and "Akquise" not in page


def test_seeded_purpose_titles_are_translated_on_the_consents_page(client, tenant_a):
    with tenant_session(tenant_a.ref) as session:
        contact_id = services.contacts.create(session, {"first_name": "Ada", "email": "ada@example.com"}).id
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/privacy/contacts/{contact_id}/consents", headers=GERMAN).text
    assert "E-Mail-Marketing" in page and "Weitergabe an Partner" in page
    assert "Email marketing" not in page
