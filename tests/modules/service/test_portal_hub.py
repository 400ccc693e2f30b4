"""The service module's place in the customer hub: one mailed link opens the customer's tickets beside
their consents, another workspace's tickets stay out of reach, the portal's old addresses and mailed links
lead to the hub, and switching the module off takes its sections and pages away."""

from __future__ import annotations

import re
import time
import uuid

from itsdangerous import TimestampSigner

from saas.db import db, tenant_session
from saas.jobs import enqueue_for_tenant, make_worker
from saas.modules.privacy import consent
from saas.modules.privacy.links import LINK_SECONDS, link_serializer, make_link_token
from saas.modules.service.email import PORTAL_LINK_SALT
from saas.modules.switches import set_module_enabled
from tests.conftest import csrf_token_from
from tests.modules.service.conftest import add_contact, add_ticket, portal_link, sign_in_to_portal


def _section(page: str, key: str) -> str:
    """The HTML of the hub section ``hub-<key>``, empty when the page has none."""
    found = re.search(rf'<section id="hub-{key}".*?</section>', page, re.S)
    return found.group(0) if found else ""


def _grant(fixture, contact_id: str) -> None:
    with tenant_session(fixture.ref) as session:
        staff = consent.ConsentContext(source="staff", actor="test")
        consent.record_consent(session, uuid.UUID(contact_id), "email_marketing", "granted", staff)


def _switch_service(fixture, enabled: bool) -> None:
    set_module_enabled(db.session, fixture.tenant.id, "service", enabled, actor="test")
    db.session.commit()


def test_one_mailed_link_opens_both_the_customers_tickets_and_their_consents(client, tenant_a, mail_sink):
    ann = add_contact(tenant_a, first_name="Ann", email="ann@example.com")
    add_ticket(tenant_a, subject="Printer jammed", requester_contact_id=ann)
    _grant(tenant_a, ann)
    page = client.get(f"/hub/{tenant_a.slug}/")
    client.post(
        f"/hub/{tenant_a.slug}/", data={"email": "ann@example.com", "csrf_token": csrf_token_from(page.text)}
    )
    make_worker().work(burst=True)
    [mail] = mail_sink.to("ann@example.com")
    assert f"/hub/{tenant_a.slug}/enter/" in mail.get_content()  # the hub's link, no other door's

    token = portal_link(mail_sink, "ann@example.com")
    form = client.get(f"/hub/{tenant_a.slug}/enter/{token}")
    client.post(f"/hub/{tenant_a.slug}/enter/{token}", data={"csrf_token": csrf_token_from(form.text)})
    home = client.get(f"/hub/{tenant_a.slug}/home").text
    assert "Printer jammed" in _section(home, "tickets")
    assert "Email marketing" in _section(home, "consents") and "agreed" in _section(home, "consents")
    assert _section(home, "kb") and _section(home, "data") and _section(home, "requests")
    # The customer's own records come first, then help, then what privacy law gives them.
    assert home.index('id="hub-tickets"') < home.index('id="hub-kb"') < home.index('id="hub-consents"')


def test_a_hub_session_of_tenant_a_sees_no_ticket_of_tenant_b(client, tenant_a, tenant_b, mail_sink):
    a_contact = add_contact(tenant_a, first_name="Bea", email="bea@example.com")
    b_contact = add_contact(tenant_b, first_name="Bea", email="bea@example.com")  # the same person in B
    add_ticket(tenant_a, subject="A-side question", requester_contact_id=a_contact)
    b_ticket = add_ticket(tenant_b, subject="B-side secret", requester_contact_id=b_contact)
    _grant(tenant_b, b_contact)
    sign_in_to_portal(client, mail_sink, tenant_a.slug, "bea@example.com")

    home = client.get(f"/hub/{tenant_a.slug}/home").text
    assert "A-side question" in home and "B-side secret" not in home and "agreed" not in home
    for path in ("/home", f"/tickets/{b_ticket}", "/tickets/new"):  # B's hub does not know this browser
        assert client.get(f"/hub/{tenant_b.slug}{path}").status_code == 302, path
    assert client.get(f"/hub/{tenant_a.slug}/tickets/{b_ticket}").status_code == 404
    # A's genuine link does not open B's hub, through the hub's door or the portal's old one.
    with client.application.test_request_context():
        a_token = make_link_token(tenant_a.tenant.id, uuid.UUID(a_contact))
        a_portal_token = make_link_token(tenant_a.tenant.id, uuid.UUID(a_contact), salt=PORTAL_LINK_SALT)
    assert client.get(f"/hub/{tenant_b.slug}/enter/{a_token}").status_code == 400
    assert client.get(f"/portal/{tenant_b.slug}/enter/{a_portal_token}").status_code == 400


def test_every_old_portal_address_redirects_to_the_hubs_equivalent(client, tenant_a, mail_sink):
    add_contact(tenant_a, first_name="Ann", email="ann@example.com")
    ticket_id = add_ticket(tenant_a, subject="Old bookmark")
    article = uuid.uuid4()
    slug = tenant_a.slug
    moved = ("", "tickets", "tickets/new", f"tickets/{ticket_id}", f"tickets/{ticket_id}/reply",
             f"tickets/{ticket_id}/rate", "kb", f"kb/{article}", "kb/suggest", "sign-out")  # fmt: skip
    form = {"csrf_token": csrf_token_from(client.get(f"/hub/{slug}/").text)}
    for path in moved:
        for response in (
            client.get(f"/portal/{slug}/{path}?q=printer"),
            client.post(f"/portal/{slug}/{path}", data=form),
        ):
            assert response.status_code == 308, path
        assert (
            client.get(f"/portal/{slug}/{path}?q=printer").headers["Location"]
            == f"/hub/{slug}/{path}?q=printer"
        )
    # The old ticket list is the hub's tickets section.
    sign_in_to_portal(client, mail_sink, slug, "ann@example.com")
    listing = client.get(f"/portal/{slug}/tickets", follow_redirects=True)
    assert listing.request.path == f"/hub/{slug}/home" and 'id="hub-tickets"' in listing.text


def test_a_sign_in_link_the_portal_mailed_opens_the_hub_once(client, tenant_a, mail_sink):
    contact_id = add_contact(tenant_a, first_name="Ann", email="ann@example.com")
    add_ticket(tenant_a, subject="Mailed before the hub", requester_contact_id=contact_id)
    # The portal's own mail job, as it ran before the hub (and still may for a job queued then).
    enqueue_for_tenant(
        tenant_a.tenant.id,
        "saas.modules.service.email.send_portal_link",
        contact_id,
        f"http://localhost/portal/{tenant_a.slug}/",
    )
    make_worker().work(burst=True)
    [mail] = mail_sink.to("ann@example.com")
    old_link = re.search(r"http://localhost(/portal/\S+/enter/\S+)", mail.get_content()).group(1)

    form = client.get(old_link, follow_redirects=True)
    assert form.status_code == 200 and form.request.path.startswith(f"/hub/{tenant_a.slug}/enter/")
    data = {"csrf_token": csrf_token_from(form.text)}
    entered = client.post(form.request.path, data=data)
    assert entered.headers["Location"] == f"/hub/{tenant_a.slug}/home"
    assert "Mailed before the hub" in client.get(f"/hub/{tenant_a.slug}/home").text
    client.post(f"/hub/{tenant_a.slug}/sign-out", data=data)

    again = client.get(old_link, follow_redirects=True)
    assert client.post(again.request.path, data=data).status_code == 400  # once, whichever door


def test_an_old_portal_link_expires_when_it_would_have(client, app_ctx, tenant_a):
    contact_id = add_contact(tenant_a, first_name="Ann", email="ann@example.com")
    payload = {"t": tenant_a.tenant.id, "c": contact_id, "l": "fixed-link-id"}

    def signed(seconds_ago: int) -> str:
        class Earlier(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(time.time()) - seconds_ago

        return link_serializer(signer=Earlier, salt=PORTAL_LINK_SALT).dumps(payload)

    assert client.get(f"/portal/{tenant_a.slug}/enter/{signed(LINK_SECONDS + 60)}").status_code == 400
    old = signed(LINK_SECONDS - 120)
    carried = client.get(f"/portal/{tenant_a.slug}/enter/{old}").headers["Location"].rsplit("/", 1)[1]
    # Signed again for the hub with the very time and id it had: no new 15 minutes, still one use.
    hub = link_serializer().loads(carried, return_timestamp=True)
    portal = link_serializer(salt=PORTAL_LINK_SALT).loads(old, return_timestamp=True)
    assert hub == portal


def test_switching_service_off_takes_its_sections_and_pages_out_of_the_hub(client, tenant_a, mail_sink):
    ann = add_contact(tenant_a, first_name="Ann", email="ann@example.com")
    ticket_id = add_ticket(tenant_a, subject="Kept while off", requester_contact_id=ann)
    assert 'id="hub-kb"' in client.get(f"/hub/{tenant_a.slug}/").text  # help articles, before sign-in too
    sign_in_to_portal(client, mail_sink, tenant_a.slug, "ann@example.com")

    _switch_service(tenant_a, False)
    home = client.get(f"/hub/{tenant_a.slug}/home").text
    assert 'id="hub-consents"' in home
    assert 'id="hub-tickets"' not in home and 'id="hub-kb"' not in home and "Kept while off" not in home
    for path in ("/tickets", f"/tickets/{ticket_id}", "/tickets/new", "/kb"):
        page = client.get(f"/hub/{tenant_a.slug}{path}")
        assert page.status_code == 404 and "switched off" in page.text, path
    assert 'id="hub-kb"' not in client.get(f"/hub/{tenant_a.slug}/").text

    _switch_service(tenant_a, True)
    assert "Kept while off" in _section(client.get(f"/hub/{tenant_a.slug}/home").text, "tickets")
