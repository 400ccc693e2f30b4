"""Macros: merge fields checked when saved and filled when applied, applied from the ticket page and the
API in one step (reply mailed, changes in the history and timeline), shared ones kept by admins,
personal ones invisible to other members, nothing reachable from another tenant, bad input refused."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from saas.audit import AuditEntry
from saas.auth.services import add_member, create_api_token, find_user_by_email
from saas.db import db, tenant_session
from saas.jobs import make_worker
from saas.modules.core.models import Activity
from saas.modules.service import macros
from saas.modules.service.models import Macro, Ticket, TicketEvent, TicketMessage
from tests.conftest import PASSWORD, bearer, csrf_token_from, login, make_token
from tests.modules.service.conftest import add_contact, add_ticket

MEMBER = "agent@example.com"


@pytest.fixture
def owner(tenant_a):
    return bearer(make_token(tenant_a))


@pytest.fixture
def member(tenant_a):
    """A second member (role member) of tenant A, with an API token."""
    add_member(db.session, tenant_a.tenant.id, MEMBER, PASSWORD, "member", actor="test")
    db.session.commit()
    _, secret = create_api_token(db.session, tenant_a.slug, MEMBER, "member")
    db.session.commit()
    return bearer(secret)


def _macro(client, headers, **data):
    response = client.post("/api/v1/macros", json={"name": "Macro", **data}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _ticket_with_requester(tenant, email: str = "bo@example.com") -> str:
    contact = add_contact(tenant, first_name="Bo", last_name="Brand", email=email)
    return add_ticket(tenant, subject="Printer on fire", requester_contact_id=uuid.UUID(contact))


# --- merge fields --------------------------------------------------------------------------------


def test_unknown_merge_field_is_refused_when_saved_naming_the_field(client, tenant_a, owner):
    for reply in ("Hi {{ contact.password }}", "Hi {{ ticket.subject", "{{ ''.__class__ }}", "{{ }}"):
        response = client.post("/api/v1/macros", json={"name": "Bad", "reply": reply}, headers=owner)
        assert response.status_code == 422, reply
        assert response.headers["Content-Type"] == "application/problem+json"
        assert "Unknown merge field" in response.get_json()["errors"]["reply"][0]
    with tenant_session(tenant_a.ref) as session:
        assert session.scalars(select(Macro)).all() == []


def test_merge_fields_are_filled_as_plain_text_never_evaluated(client, tenant_a, owner):
    ticket = _ticket_with_requester(tenant_a)
    with tenant_session(tenant_a.ref) as session:
        session.get(Ticket, uuid.UUID(ticket)).subject = "{{ agent.email }} {% for x in y %}"
    macro = _macro(
        client, owner,
        reply="Dear {{contact.first_name}} {{ contact.last_name }}, re: {{ ticket.subject }} "
        "[#{{ ticket.reference }}] from {{ agent.name }} at {{ workspace.name }}",
    )  # fmt: skip
    applied = client.post(
        f"/api/v1/tickets/{ticket}/apply-macro", json={"macro_id": macro["id"]}, headers=owner
    )
    assert applied.status_code == 200, applied.get_json()
    with tenant_session(tenant_a.ref) as session:
        [reply] = session.scalars(
            select(TicketMessage).where(TicketMessage.ticket_id == uuid.UUID(ticket))
        ).all()
        reference = session.get(Ticket, uuid.UUID(ticket)).reference
    assert reply.body == (
        f"Dear Bo Brand, re: {{{{ agent.email }}}} {{% for x in y %}} [#{reference}] "
        f"from {tenant_a.email} at {tenant_a.tenant.name}"
    )


def test_missing_values_merge_as_nothing(client, tenant_a, owner):
    ticket = add_ticket(tenant_a)  # no requester
    macro = _macro(client, owner, reply="Hello {{ contact.first_name }}!")
    client.post(f"/api/v1/tickets/{ticket}/apply-macro", json={"macro_id": macro["id"]}, headers=owner)
    with tenant_session(tenant_a.ref) as session:
        assert session.scalars(select(TicketMessage.body)).all() == ["Hello !"]


def test_render_reply_fills_every_known_field_without_error(tenant_a):
    ticket = _ticket_with_requester(tenant_a)
    text = " ".join(f"{{{{ {name} }}}}" for name in macros.MERGE_FIELDS)
    with tenant_session(tenant_a.ref) as session:
        macros.check_merge_fields(text)
        rendered = macros.render_reply(
            text, macros.MergeContext(session, session.get(Ticket, uuid.UUID(ticket)))
        )
    assert "{{" not in rendered and "Printer on fire" in rendered and "bo@example.com" in rendered


# --- applying ------------------------------------------------------------------------------------


def test_applying_through_the_api_replies_changes_and_records_it_in_one_step(
    client, tenant_a, owner, mail_sink
):
    ticket = _ticket_with_requester(tenant_a, "photo@example.com")  # the sink is shared with other tests
    with tenant_session(tenant_a.ref) as session:
        session.get(Ticket, uuid.UUID(ticket)).tags = ["printer"]
    owner_id = str(find_user_by_email(db.session, tenant_a.email).id)
    macro = _macro(
        client, owner, name="Waiting on you", reply="Hi {{ contact.first_name }}, please send a photo.",
        status="pending_customer", priority="high", assignee_user_id=owner_id,
        tags=["Needs-Photo", "printer"],
    )  # fmt: skip
    response = client.post(
        f"/api/v1/tickets/{ticket}/apply-macro", json={"macro_id": macro["id"]}, headers=owner
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["status"], body["priority"], body["assignee_user_id"]) == (
        "pending_customer",
        "high",
        owner_id,
    )
    assert body["tags"] == ["printer", "needs-photo"]
    assert body["first_responded_at"] is not None
    with tenant_session(tenant_a.ref) as session:
        actions = session.scalars(
            select(TicketEvent.action)
            .where(TicketEvent.ticket_id == uuid.UUID(ticket))
            .order_by(TicketEvent.created_at)
        ).all()
        timeline = session.scalars(
            select(Activity.subject).where(Activity.subject_id == uuid.UUID(ticket))
        ).all()
    assert actions[actions.index("macro.applied") :][:2] == ["macro.applied", "reply.added"]
    assert {"status.changed", "priority.changed", "assignee_user_id.changed", "tags.changed"} <= set(actions)
    assert any(subject.startswith("Reply on ticket") for subject in timeline)
    make_worker().work(burst=True)
    [mailed] = mail_sink.to("photo@example.com")
    assert "Hi Bo, please send a photo." in mailed.get_content()


def test_a_macro_of_changes_only_sends_no_reply(client, tenant_a, owner):
    ticket = add_ticket(tenant_a)
    macro = _macro(client, owner, status="solved")
    response = client.post(
        f"/api/v1/tickets/{ticket}/apply-macro", json={"macro_id": macro["id"]}, headers=owner
    )
    assert response.get_json()["status"] == "solved"
    with tenant_session(tenant_a.ref) as session:
        assert session.scalars(select(TicketMessage)).all() == []


def test_applying_from_the_ticket_page_with_the_picker(client, tenant_a, owner):
    ticket = add_ticket(tenant_a)
    macro = _macro(client, owner, name="Internal triage", reply="Checked by {{ agent.email }}",
                   reply_kind="note", priority="urgent")  # fmt: skip
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/tickets/{ticket}")
    assert 'data-macro-shortcut="m"' in page.text and "Internal triage" in page.text
    assert "/portal-static/macro-picker.js" in page.text and "<script>" not in page.text  # CSP: no inline
    response = client.post(
        f"/t/{tenant_a.slug}/tickets/{ticket}/apply-macro",
        data={"csrf_token": csrf_token_from(page.text), "macro_id": macro["id"]},
    )
    assert response.status_code == 302
    shown = client.get(response.headers["Location"]).text
    assert "Macro Internal triage applied." in shown and f"Checked by {tenant_a.email}" in shown
    with tenant_session(tenant_a.ref) as session:
        applied = session.get(Ticket, uuid.UUID(ticket))
        assert applied.priority == "urgent"
        assert [m.kind for m in applied.messages] == ["note"]
    assert client.get("/portal-static/macro-picker.js").status_code == 200


def test_page_apply_without_a_macro_re_renders_with_a_message(client, tenant_a):
    ticket = add_ticket(tenant_a)
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/tickets/{ticket}")
    response = client.post(
        f"/t/{tenant_a.slug}/tickets/{ticket}/apply-macro",
        data={"csrf_token": csrf_token_from(page.text), "macro_id": "not-a-uuid"},
    )
    assert response.status_code == 422 and "Choose a macro." in response.text


def test_a_macro_whose_assignee_left_is_refused_and_changes_nothing(client, tenant_a, owner, member):
    ticket = _ticket_with_requester(tenant_a)
    agent_id = find_user_by_email(db.session, MEMBER).id
    macro = _macro(client, owner, reply="Over to a colleague", status="open", assignee_user_id=str(agent_id))
    from saas.auth.models import Membership

    db.session.delete(db.session.scalar(select(Membership).where(Membership.user_id == agent_id)))
    db.session.commit()
    response = client.post(
        f"/api/v1/tickets/{ticket}/apply-macro", json={"macro_id": macro["id"]}, headers=owner
    )
    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "no longer in the workspace" in response.get_json()["detail"]
    with tenant_session(tenant_a.ref) as session:
        assert session.scalars(select(TicketMessage)).all() == []
        assert "macro.applied" not in session.scalars(select(TicketEvent.action)).all()
    # The macro list names the gap, and the macro can be repaired.
    login(client, tenant_a.email, tenant_a.password)
    assert "no longer a member" in client.get(f"/t/{tenant_a.slug}/macros").text
    fixed = client.patch(f"/api/v1/macros/{macro['id']}", json={"assignee_user_id": None}, headers=owner)
    assert fixed.status_code == 200 and fixed.get_json()["assignee_user_id"] is None


def test_applying_to_a_closed_ticket_is_a_conflict(client, tenant_a, owner):
    ticket = add_ticket(tenant_a)
    client.patch(f"/api/v1/tickets/{ticket}", json={"status": "closed"}, headers=owner)
    macro = _macro(client, owner, reply="Hello")
    response = client.post(
        f"/api/v1/tickets/{ticket}/apply-macro", json={"macro_id": macro["id"]}, headers=owner
    )
    assert response.status_code == 409
    assert response.headers["Content-Type"] == "application/problem+json"


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, field",
    [
        ({"name": ""}, "name"),
        ({"name": "x", "status": "exploded"}, "status"),
        ({"name": "x", "priority": "whenever"}, "priority"),
        ({"name": "x", "queue_id": str(uuid.uuid4())}, "queue_id"),
        ({"name": "x", "assignee_user_id": str(uuid.uuid4())}, "assignee_user_id"),
        ({"name": "x", "scope": "everyone", "reply": "x"}, "scope"),
        ({"name": "x"}, "reply"),  # does nothing at all
        ({"name": "x", "reply": "x", "colour": "red"}, "colour"),
    ],
)
def test_bad_macro_input_is_a_problem_naming_the_field(client, tenant_a, owner, data, field):
    response = client.post("/api/v1/macros", json=data, headers=owner)
    assert response.status_code == 422, response.get_json()
    assert response.headers["Content-Type"] == "application/problem+json"
    assert field in str(response.get_json())


def test_apply_with_bad_input_is_a_problem(client, tenant_a, owner):
    ticket = add_ticket(tenant_a)
    for body, status in [({}, 422), ({"macro_id": "nope"}, 422), ({"macro_id": str(uuid.uuid4())}, 404)]:
        response = client.post(f"/api/v1/tickets/{ticket}/apply-macro", json=body, headers=owner)
        assert response.status_code == status, body
        assert response.headers["Content-Type"] == "application/problem+json"


def test_macro_page_form_re_renders_with_the_message(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/macros")
    response = client.post(
        f"/t/{tenant_a.slug}/macros",
        data={"csrf_token": csrf_token_from(page.text), "name": "Oops", "scope": "shared",
              "reply": "Hi {{ contact.shoe_size }}", "reply_kind": "public"},
    )  # fmt: skip
    assert response.status_code == 422
    assert "Unknown merge field: contact.shoe_size" in response.text and 'value="Oops"' in response.text
    saved = client.post(
        f"/t/{tenant_a.slug}/macros",
        data={"csrf_token": csrf_token_from(page.text), "name": "Thanks", "scope": "shared",
              "reply": "Thanks, {{ contact.first_name }}!", "reply_kind": "public", "tags": "a, b"},
    )  # fmt: skip
    assert saved.status_code == 302
    with tenant_session(tenant_a.ref) as session:
        [macro] = session.scalars(select(Macro)).all()
        assert (macro.name, macro.scope, macro.tags, macro.owner_user_id) == (
            "Thanks",
            "shared",
            ["a", "b"],
            None,
        )


# --- shared and personal -------------------------------------------------------------------------


def test_a_personal_macro_is_invisible_to_another_member(client, tenant_a, owner, member):
    mine = _macro(client, member, name="My secret words", reply="Hi")
    ticket = add_ticket(tenant_a)
    assert mine["scope"] == "personal"
    assert client.get("/api/v1/macros", headers=owner).get_json()["data"] == []
    for method, url, body in [
        ("get", f"/api/v1/macros/{mine['id']}", None),
        ("patch", f"/api/v1/macros/{mine['id']}", {"name": "Taken"}),
        ("delete", f"/api/v1/macros/{mine['id']}", None),
        ("post", f"/api/v1/tickets/{ticket}/apply-macro", {"macro_id": mine["id"]}),
    ]:
        assert client.open(url, method=method.upper(), json=body, headers=owner).status_code == 404, url
    login(client, tenant_a.email, tenant_a.password)
    assert "My secret words" not in client.get(f"/t/{tenant_a.slug}/macros").text
    assert "My secret words" not in client.get(f"/t/{tenant_a.slug}/tickets/{ticket}").text
    assert client.get(f"/t/{tenant_a.slug}/macros/{mine['id']}").status_code == 404
    assert [m["name"] for m in client.get("/api/v1/macros", headers=member).get_json()["data"]] == [
        "My secret words"
    ]


def test_shared_macros_are_kept_by_admins_and_audited_and_used_by_everyone(client, tenant_a, owner, member):
    assert client.post("/api/v1/macros", json={"name": "x", "reply": "x", "scope": "shared"},
                       headers=member).status_code == 403  # fmt: skip
    shared = _macro(client, owner, name="Greeting", reply="Hello", scope="shared")
    assert (
        client.patch(f"/api/v1/macros/{shared['id']}", json={"name": "Mine"}, headers=member).status_code
        == 403
    )
    assert client.delete(f"/api/v1/macros/{shared['id']}", headers=member).status_code == 403
    own = _macro(client, member, name="Own", reply="Hi")
    moved = client.patch(f"/api/v1/macros/{own['id']}", json={"scope": "shared"}, headers=member)
    assert moved.status_code == 403
    assert [m["name"] for m in client.get("/api/v1/macros", headers=member).get_json()["data"]] == [
        "Greeting",
        "Own",
    ]
    ticket = add_ticket(tenant_a)
    applied = client.post(
        f"/api/v1/tickets/{ticket}/apply-macro", json={"macro_id": shared["id"]}, headers=member
    )
    assert applied.status_code == 200
    actions = db.session.scalars(
        select(AuditEntry.action).where(
            AuditEntry.tenant_id == tenant_a.tenant.id, AuditEntry.action.like("service.macro%")
        )
    ).all()
    assert actions == ["service.macro.created"]


# --- tenants -------------------------------------------------------------------------------------


def test_tenant_b_cannot_read_apply_or_change_tenant_a_macros(client, tenant_a, tenant_b, owner):
    shared = _macro(client, owner, name="Alpha words", reply="Alpha", scope="shared")
    a_ticket = add_ticket(tenant_a)
    b_ticket = add_ticket(tenant_b)
    other = bearer(make_token(tenant_b))
    assert client.get("/api/v1/macros", headers=other).get_json()["data"] == []
    for method, url, body in [
        ("GET", f"/api/v1/macros/{shared['id']}", None),
        ("PATCH", f"/api/v1/macros/{shared['id']}", {"name": "Beta"}),
        ("DELETE", f"/api/v1/macros/{shared['id']}", None),
        ("POST", f"/api/v1/tickets/{b_ticket}/apply-macro", {"macro_id": shared["id"]}),
        ("POST", f"/api/v1/tickets/{a_ticket}/apply-macro", {"macro_id": shared["id"]}),
    ]:
        response = client.open(url, method=method, json=body, headers=other)
        assert response.status_code == 404, (method, url)
        assert "Alpha" not in response.text
    login(client, tenant_b.email, tenant_b.password)
    token = csrf_token_from(client.get(f"/t/{tenant_b.slug}/macros").text)
    assert client.get(f"/t/{tenant_b.slug}/macros/{shared['id']}").status_code == 404
    assert "Alpha words" not in client.get(f"/t/{tenant_b.slug}/tickets/{b_ticket}").text
    response = client.post(
        f"/t/{tenant_b.slug}/tickets/{b_ticket}/apply-macro",
        data={"csrf_token": token, "macro_id": shared["id"]},
    )
    assert response.status_code == 404
    assert (
        client.post(
            f"/t/{tenant_b.slug}/macros/{shared['id']}/delete", data={"csrf_token": token}
        ).status_code
        == 404
    )
    with tenant_session(tenant_a.ref) as session:
        assert session.scalars(select(Macro.name)).all() == ["Alpha words"]
    with tenant_session(tenant_b.ref) as session:
        assert session.scalars(select(TicketMessage)).all() == []


def test_editing_a_macro_on_its_page(client, tenant_a, owner, member):
    shared = _macro(client, owner, name="Greeting", reply="Hello", scope="shared")
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/macros/{shared['id']}")
    assert page.status_code == 200 and 'value="Greeting"' in page.text
    assert "{{ contact.first_name }}" in page.text and '<option value="urgent">' in page.text  # the choices
    form = {
        "csrf_token": csrf_token_from(page.text),
        "name": "Greeting",
        "scope": "shared",
        "reply_kind": "public",
    }
    bad = client.post(
        f"/t/{tenant_a.slug}/macros/{shared['id']}", data={**form, "reply": "{{ ticket.nope }}"}
    )
    assert bad.status_code == 422 and "Unknown merge field: ticket.nope" in bad.text
    saved = client.post(f"/t/{tenant_a.slug}/macros/{shared['id']}", data={**form, "priority": "low"})
    assert saved.status_code == 302
    with tenant_session(tenant_a.ref) as session:
        macro = session.get(Macro, uuid.UUID(shared["id"]))
        assert (macro.reply, macro.priority) == (None, "low")  # a blank field clears it


def test_a_member_sees_a_shared_macro_without_a_form_to_change_it(client, tenant_a, owner, member):
    shared = _macro(client, owner, name="Greeting", reply="Hello", scope="shared")
    login(client, MEMBER, PASSWORD)
    shown = client.get(f"/t/{tenant_a.slug}/macros/{shared['id']}").text
    assert "only owners and admins change it" in shown and "Save macro" not in shown
    new_form = client.get(f"/t/{tenant_a.slug}/macros").text
    assert 'name="scope" value="personal"' in new_form and "Who may use it" not in new_form
