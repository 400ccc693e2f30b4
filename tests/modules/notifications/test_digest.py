"""The daily digest: a member who chose it gets one mail of their unread notifications not mailed before,
each with its link; others get none, nor does a deactivated member."""

from __future__ import annotations

from sqlalchemy import select

from saas.auth.members import set_active
from saas.auth.models import Membership
from saas.db import db
from saas.modules.core.activities import activities
from saas.modules.core.services import contacts
from saas.modules.notifications.digest import mail_all_digests
from saas.modules.notifications.services import set_digest, takes_digest
from tests.conftest import PASSWORD, csrf_token_from, login


def _mention(team, *who: str) -> None:
    with team.acting(team.owner) as session:
        contact = contacts.create(session, {"first_name": "Zoë", "last_name": "Lee"})
        names = " ".join(f"@{email}" for email in who)
        activities.create(session, {"kind": "note", "subject": f"Ask {names}", "contact_id": contact.id})


def test_a_member_chooses_the_digest_on_the_centre_and_gets_one_mail_of_what_is_unread(
    client, team, mail_sink
):
    login(client, team.ann, PASSWORD)
    centre = f"/t/{team.tenant.slug}/notifications"
    chosen = client.post(
        f"{centre}/settings", data={"digest": "on", "csrf_token": csrf_token_from(client.get(centre).text)}
    )
    assert chosen.status_code == 303
    _mention(team, team.ann, team.bob)
    _mention(team, team.ann)
    assert mail_all_digests()["mailed"] >= 1
    [mail] = mail_sink.to(team.ann)
    body = mail.get_content()
    assert mail["Subject"] == "2 new notifications"
    assert body.count(f"{team.owner} mentioned you on Zoë Lee") == 2
    assert f"http://localhost/t/{team.tenant.slug}/notifications/" in body and "/open" in body
    assert mail_sink.to(team.bob) == []  # no digest chosen
    mail_all_digests()
    assert len(mail_sink.to(team.ann)) == 1  # nothing new since


def test_a_deactivated_member_gets_no_digest(team, mail_sink):
    with team.acting(None) as session:
        set_digest(session, team.id_of(team.bob), True, "https://crm.example.com")
    _mention(team, team.bob)
    owner = db.session.scalar(
        select(Membership).where(Membership.tenant_id == team.tenant.tenant.id, Membership.role == "owner")
    )
    bob = db.session.scalar(select(Membership).where(Membership.user_id == team.id_of(team.bob)))
    set_active(db.session, owner, bob.id, False)
    db.session.commit()
    mail_all_digests()
    assert mail_sink.to(team.bob) == []


def test_turning_the_digest_off_stops_it(client, team, mail_sink):
    with team.acting(None) as session:
        set_digest(session, team.id_of(team.ann), True, "https://crm.example.com")
    login(client, team.ann, PASSWORD)
    centre = f"/t/{team.tenant.slug}/notifications"
    client.post(
        f"{centre}/settings", data={"digest": "off", "csrf_token": csrf_token_from(client.get(centre).text)}
    )
    with team.acting(None) as session:
        assert takes_digest(session, team.id_of(team.ann)) is False
    _mention(team, team.ann)
    mail_all_digests()
    assert mail_sink.to(team.ann) == []


def test_a_digest_that_could_not_be_sent_goes_out_with_the_next_run(app, team, mail_sink, monkeypatch):
    from saas.embedded import free_loopback_port

    with team.acting(None) as session:
        set_digest(session, team.id_of(team.ann), True, "https://crm.example.com")
    _mention(team, team.ann)
    working = app.config["SMTP_URL"]
    monkeypatch.setitem(
        app.config, "SMTP_URL", f"smtp://127.0.0.1:{free_loopback_port()}?tls=none"
    )  # refused
    report = mail_all_digests()
    assert team.tenant.tenant.id in report["failed"]
    assert mail_sink.to(team.ann) == []
    monkeypatch.setitem(app.config, "SMTP_URL", working)
    mail_all_digests()
    [mail] = mail_sink.to(team.ann)
    assert "https://crm.example.com/t/" in mail.get_content()
