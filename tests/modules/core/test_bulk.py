"""Bulk actions on lists: a selection (ticked rows or all that match the filter) gets an owner, a stage or
status, is deleted or exported; large ones run as a job with progress; one audit entry per action; another
workspace's ids are never touched; roles and read-only workspaces are respected."""

from __future__ import annotations

import csv
import io
import re
import uuid

from sqlalchemy import func, insert, select

from saas.audit import AuditEntry
from saas.auth.services import add_member, create_api_token
from saas.db import db, tenant_session
from saas.jobs import make_worker
from saas.modules.core import bulk
from saas.modules.sfa.models import Lead
from tests.conftest import PASSWORD, bearer, csrf_token_from, login, make_token
from tests.exports.test_self_serve_import import billing_on, lapse


def _seed_leads(fixture, count: int, status: str = "new", name: str = "Lead") -> list[uuid.UUID]:
    rows = [{"id": uuid.uuid4(), "last_name": f"{name} {i:04d}", "status": status} for i in range(count)]
    with tenant_session(fixture.ref) as session:
        session.execute(insert(Lead), rows)
    return [row["id"] for row in rows]


def _leads(fixture) -> dict[uuid.UUID, Lead]:
    with tenant_session(fixture.ref) as session:
        found = {lead.id: lead for lead in session.scalars(select(Lead))}
        session.expunge_all()
        return found


def _member(fixture, role: str = "member") -> tuple[uuid.UUID, str]:
    email = f"{role}-{uuid.uuid4().hex[:6]}@example.com"
    membership = add_member(db.session, fixture.tenant.id, email, PASSWORD, role, actor="test")
    db.session.commit()
    return membership.user_id, email


def _audits(fixture, action: str) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.tenant_id == fixture.tenant.id, AuditEntry.action == action)
    return list(db.session.scalars(query))


def _list_form(client, fixture, path: str = "/leads") -> str:
    page = client.get(f"/t/{fixture.slug}{path}")
    assert page.status_code == 200
    return csrf_token_from(page.text)


def test_ticked_leads_get_an_owner_in_the_request_with_one_audit_entry(client, tenant_a):
    ids = _seed_leads(tenant_a, 5)
    rep_id, _ = _member(tenant_a)
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/leads")
    assert 'form="bulk-form"' in page.text and 'id="bulk-action"' in page.text
    done = client.post(
        f"/t/{tenant_a.slug}/bulk/leads",
        data={"csrf_token": csrf_token_from(page.text), "action": "assign_owner", "owner": str(rep_id),
              "ids": [str(i) for i in ids[:3]], "next": f"/t/{tenant_a.slug}/leads"},
    )  # fmt: skip
    assert done.status_code == 303 and done.headers["Location"] == f"/t/{tenant_a.slug}/leads"
    assert "3 records changed." in client.get(done.headers["Location"]).text
    leads = _leads(tenant_a)
    assert [leads[i].owner_user_id for i in ids] == [rep_id] * 3 + [None] * 2
    [entry] = _audits(tenant_a, "records.bulk_assign_owner")
    assert entry.target == "leads" and entry.details["done"] == 3 and entry.details["value"] == str(rep_id)


def test_refused_records_are_reported_and_the_others_change(client, tenant_a):
    ids = _seed_leads(tenant_a, 3)
    with tenant_session(tenant_a.ref) as session:  # a converted lead keeps its status
        session.get(Lead, ids[0]).status = "converted"
    login(client, tenant_a.email, tenant_a.password)
    done = client.post(
        f"/t/{tenant_a.slug}/bulk/leads",
        data={"csrf_token": _list_form(client, tenant_a), "action": "set_stage", "stage": "working",
              "ids": [str(i) for i in ids]},
    )  # fmt: skip
    shown = client.get(done.headers["Location"]).text
    assert "2 records changed." in shown
    assert "1 record was refused: A converted lead keeps its status." in shown
    assert [_leads(tenant_a)[i].status for i in ids] == ["converted", "working", "working"]


def test_bad_input_changes_nothing_and_says_why(client, tenant_a):
    ids = _seed_leads(tenant_a, 2)
    login(client, tenant_a.email, tenant_a.password)
    token = _list_form(client, tenant_a)
    for data in (
        {"action": "set_stage", "stage": "nonsense", "ids": [str(i) for i in ids]},
        {"action": "assign_owner", "owner": str(uuid.uuid4()), "ids": [str(i) for i in ids]},
        {"action": "explode", "ids": [str(i) for i in ids]},
        {"action": "set_stage", "stage": "working"},
    ):
        refused = client.post(f"/t/{tenant_a.slug}/bulk/leads", data={"csrf_token": token, **data})
        assert refused.status_code == 303
        assert 'class="flash flash-error"' in client.get(refused.headers["Location"]).text, data
    assert {lead.status for lead in _leads(tenant_a).values()} == {"new"}
    assert {lead.owner_user_id for lead in _leads(tenant_a).values()} == {None}


def test_all_matching_a_filter_runs_as_a_job_with_progress(client, tenant_a, tenant_b):
    working = _seed_leads(tenant_a, bulk.JOB_THRESHOLD + 50, status="working")
    untouched = _seed_leads(tenant_a, 3, status="new")
    rep_id, _ = _member(tenant_a)
    login(client, tenant_a.email, tenant_a.password)
    queued = client.post(
        f"/t/{tenant_a.slug}/bulk/leads",
        data={"csrf_token": _list_form(client, tenant_a, "/leads?status=working"), "action": "assign_owner",
              "owner": str(rep_id), "scope": "matching", "query": "status=working",
              "next": f"/t/{tenant_a.slug}/leads?status=working"},
    )  # fmt: skip
    assert queued.status_code == 303 and "/bulk/jobs/" in queued.headers["Location"]
    job_url = queued.headers["Location"]
    page = client.get(job_url)
    assert 'data-progress-url="' in page.text and 'data-status="queued"' in page.text
    assert client.get(f"{job_url}/progress").get_json()["total"] == len(working)

    make_worker().work(burst=True)
    progress = client.get(f"{job_url}/progress").get_json()
    assert (progress["status"], progress["done"], progress["failed"]) == ("done", len(working), 0)
    assert f'href="/t/{tenant_a.slug}/leads?status=working"' in client.get(job_url).text
    leads = _leads(tenant_a)
    assert {leads[i].owner_user_id for i in working} == {rep_id}
    assert {leads[i].owner_user_id for i in untouched} == {None}
    assert len(_audits(tenant_a, "records.bulk_assign_owner")) == 1

    # Another workspace's member does not see the job, and its id reads as none there.
    login(client, tenant_b.email, tenant_b.password)
    job_id = job_url.rsplit("/", 1)[1]
    assert client.get(f"/t/{tenant_b.slug}/bulk/jobs/{job_id}/progress").status_code == 404
    assert client.get(f"/t/{tenant_b.slug}/bulk/jobs/{job_id}").status_code == 404


def test_another_workspaces_ids_are_ignored_and_never_touched(client, tenant_a, tenant_b):
    mine = _seed_leads(tenant_a, 2)
    theirs = _seed_leads(tenant_b, 2)
    login(client, tenant_a.email, tenant_a.password)
    done = client.post(
        f"/t/{tenant_a.slug}/bulk/leads",
        data={"csrf_token": _list_form(client, tenant_a), "action": "delete",
              "ids": [str(i) for i in [*mine, *theirs]]},
    )  # fmt: skip
    assert "2 records changed." in client.get(done.headers["Location"]).text
    assert _leads(tenant_a) == {} and set(_leads(tenant_b)) == set(theirs)
    # Only theirs: nothing selected, nothing done.
    refused = client.post(
        f"/t/{tenant_a.slug}/bulk/leads",
        data={"csrf_token": _list_form(client, tenant_a), "action": "delete",
              "ids": [str(i) for i in theirs]},
    )  # fmt: skip
    assert "Nothing selected." in client.get(refused.headers["Location"]).text
    exported = client.post(
        f"/t/{tenant_a.slug}/bulk/leads/export",
        data={"csrf_token": _list_form(client, tenant_a), "ids": [str(i) for i in theirs]},
    )  # fmt: skip
    assert list(csv.reader(io.StringIO(exported.text)))[1:] == []
    assert set(_leads(tenant_b)) == set(theirs)


def test_api_bulk_action_isolation_problems_and_job_progress(client, tenant_a, tenant_b):
    mine = _seed_leads(tenant_a, 3)
    theirs = _seed_leads(tenant_b, 2)
    headers = bearer(make_token(tenant_a))
    done = client.post(
        "/api/v1/bulk-actions", headers=headers,
        json={"record_type": "leads", "action": "set_stage", "value": "qualified",
              "ids": [str(i) for i in [*mine, *theirs]]},
    )  # fmt: skip
    assert done.status_code == 200, done.get_json()
    assert (done.get_json()["total"], done.get_json()["done"], done.get_json()["job_id"]) == (3, 3, None)
    assert {lead.status for lead in _leads(tenant_b).values()} == {"new"}

    for body, status in (
        ({"record_type": "leads", "action": "set_stage", "value": "bogus", "ids": [str(mine[0])]}, 422),
        ({"record_type": "leads", "action": "set_stage", "value": "new"}, 422),  # no selection
        ({"record_type": "leads", "action": "nope", "ids": [str(mine[0])]}, 422),
        ({"record_type": "nothing", "action": "delete", "ids": [str(mine[0])]}, 404),
        ({"record_type": "leads", "action": "delete", "ids": ["not-an-id"]}, 422),
    ):
        refused = client.post("/api/v1/bulk-actions", headers=headers, json=body)
        assert refused.status_code == status, (body, refused.get_json())
        assert refused.headers["Content-Type"] == "application/problem+json"

    many = _seed_leads(tenant_a, bulk.JOB_THRESHOLD + 1, name="Many")
    queued = client.post(
        "/api/v1/bulk-actions", headers=headers,
        json={"record_type": "leads", "action": "set_stage", "value": "working", "query": {"q": "many"}},
    )  # fmt: skip
    assert queued.status_code == 202 and queued.get_json()["status"] == "queued"
    job_id = queued.get_json()["job_id"]
    make_worker().work(burst=True)
    progress = client.get(f"/api/v1/bulk-actions/{job_id}", headers=headers).get_json()
    assert (progress["status"], progress["done"]) == ("done", len(many))
    other = bearer(make_token(tenant_b))
    assert client.get(f"/api/v1/bulk-actions/{job_id}", headers=other).status_code == 404


def test_bulk_delete_is_for_owners_and_admins(client, tenant_a):
    ids = _seed_leads(tenant_a, 2)
    _, member_email = _member(tenant_a)
    _, member_token = create_api_token(db.session, tenant_a.slug, member_email, "member")
    db.session.commit()
    body = {"record_type": "leads", "action": "delete", "ids": [str(i) for i in ids]}
    refused = client.post("/api/v1/bulk-actions", headers=bearer(member_token), json=body)
    assert refused.status_code == 403
    login(client, member_email, PASSWORD)
    assert 'value="delete"' not in client.get(f"/t/{tenant_a.slug}/leads").text
    assert set(_leads(tenant_a)) == set(ids)


def test_read_only_workspace_refuses_changes_but_exports(app, client, tenant_a):
    ids = _seed_leads(tenant_a, 2)
    login(client, tenant_a.email, tenant_a.password)
    token = _list_form(client, tenant_a)
    lapse(tenant_a)
    with billing_on(app):
        refused = client.post(
            f"/t/{tenant_a.slug}/bulk/leads",
            data={"csrf_token": token, "action": "set_stage", "stage": "working",
                  "ids": [str(i) for i in ids]},
        )  # fmt: skip
        assert refused.status_code == 402
        exported = client.post(
            f"/t/{tenant_a.slug}/bulk/leads/export", data={"csrf_token": token, "ids": [str(i) for i in ids]}
        )
        assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert sorted(row["id"] for row in rows) == sorted(str(i) for i in ids)
    assert "search_vector" not in rows[0]
    assert {lead.status for lead in _leads(tenant_a).values()} == {"new"}
    assert len(_audits(tenant_a, "records.bulk_export")) == 1


def test_contacts_and_custom_fields_lists_take_bulk_actions_generically(client, tenant_a):
    from saas.modules.core import services

    with tenant_session(tenant_a.ref) as session:
        ids = [services.contacts.create(session, {"last_name": f"C{i}"}).id for i in range(3)]
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/contacts")
    # Contacts have no owner or stage column: only delete (and export) are offered.
    assert 'value="assign_owner"' not in page.text and 'value="delete"' in page.text
    client.post(
        f"/t/{tenant_a.slug}/bulk/contacts",
        data={"csrf_token": csrf_token_from(page.text), "action": "delete", "ids": [str(ids[0])]},
    )
    with tenant_session(tenant_a.ref) as session:
        from saas.modules.core.models import Contact

        assert session.scalar(select(func.count()).select_from(Contact)) == 2


def test_tickets_take_an_assignee_and_a_tag_in_bulk(client, tenant_a):
    from saas.modules.service.models import Ticket
    from saas.modules.service.tickets import tickets

    with tenant_session(tenant_a.ref) as session:
        ids = [tickets.create(session, {"subject": f"Printer {i}", "tags": ["hw"]}).id for i in range(3)]
    rep_id, _ = _member(tenant_a)
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/tickets")
    assert 'value="add_tag"' in page.text and 'form="bulk-form"' in page.text
    token = csrf_token_from(page.text)
    for data in ({"action": "add_tag", "tag": " Urgent "}, {"action": "assign_owner", "owner": str(rep_id)}):
        selected = {"csrf_token": token, "ids": [str(i) for i in ids[:2]]}
        client.post(f"/t/{tenant_a.slug}/bulk/tickets", data={**selected, **data})
    with tenant_session(tenant_a.ref) as session:
        found = {t.id: t for t in session.scalars(select(Ticket))}
        assert [found[i].tags for i in ids] == [["hw", "urgent"], ["hw", "urgent"], ["hw"]]
        assert [found[i].assignee_user_id for i in ids] == [rep_id, rep_id, None]


def test_filter_chips_remove_one_filter_each_and_saved_views_keep_them(client, tenant_a):
    rep_id, rep_email = _member(tenant_a)
    _seed_leads(tenant_a, 1)
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    page = client.get(f"{base}/leads?q=lead&status=new&sort=name").text
    assert 'class="filter-chips"' in page
    assert f'href="{base}/leads?status=new&amp;sort=name"' in page  # removes the search, keeps the rest
    assert f'href="{base}/leads?q=lead&amp;sort=name"' in page  # removes the status
    assert "Status: New" in page and "Search: lead" in page  # the status as the reader's language names it
    # An owner filter's chip names the member, not the id.
    assert f"Owner: {rep_email}" in client.get(f"{base}/deals?owner_user_id={rep_id}").text
    saved = client.post(
        f"{base}/saved-views",
        data={"csrf_token": csrf_token_from(page), "entity": "leads", "name": "New ones",
              "list_endpoint": "sfa.list_leads", "query": "q=lead&status=new"},
    )  # fmt: skip
    assert saved.status_code in (302, 303), saved.text
    views_page = client.get(f"{base}/leads").text
    assert 'class="filter-chips"' not in views_page
    view_url = re.search(r'<a href="([^"]+)">New ones</a>', views_page).group(1).replace("&amp;", "&")
    reopened = client.get(view_url).text
    assert "Status: New" in reopened and "Search: lead" in reopened


def test_api_bulk_action_needs_the_records_own_scope_too(client, tenant_a):
    from saas.api.models import ApiTokenScope

    ids = _seed_leads(tenant_a, 1)
    token, secret = create_api_token(db.session, tenant_a.slug, tenant_a.email, "bulk only")
    db.session.add(ApiTokenScope(token_id=token.id, scope="bulk-actions:write"))
    db.session.commit()
    body = {"record_type": "leads", "action": "set_stage", "value": "working", "ids": [str(ids[0])]}
    refused = client.post("/api/v1/bulk-actions", headers=bearer(secret), json=body)
    assert refused.status_code == 403 and "leads:write" in refused.get_json()["detail"]
    both, both_secret = create_api_token(db.session, tenant_a.slug, tenant_a.email, "bulk and leads")
    db.session.add(ApiTokenScope(token_id=both.id, scope="bulk-actions:write leads:write"))
    db.session.commit()
    assert client.post("/api/v1/bulk-actions", headers=bearer(both_secret), json=body).status_code == 200
    assert _leads(tenant_a)[ids[0]].status == "working"


def test_contacts_go_on_a_static_list_in_bulk_and_another_workspaces_list_is_refused(
    client, tenant_a, tenant_b
):
    from saas.modules.core.services import contacts
    from saas.modules.marketing import segments
    from saas.modules.marketing.models import SegmentMember

    with tenant_session(tenant_a.ref) as session:
        people = [contacts.create(session, {"last_name": f"Listed {i}"}).id for i in range(3)]
        newsletter = segments.create_segment(session, {"name": "Newsletter", "kind": "static"}).id
        session.commit()
    with tenant_session(tenant_b.ref) as session:
        theirs = segments.create_segment(session, {"name": "B's list", "kind": "static"}).id
        session.commit()
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/contacts")
    assert "Add to a static list" in page.text and f'value="marketing:{newsletter}">Newsletter' in page.text
    assert "B&#39;s list" not in page.text and str(theirs) not in page.text
    token = csrf_token_from(page.text)
    form = {"csrf_token": token, "action": "add_to_list", "scope": "selected",
            "ids": [str(i) for i in people[:2]],
            "next": f"/t/{tenant_a.slug}/contacts"}  # fmt: skip
    refused = client.post(f"/t/{tenant_a.slug}/bulk/contacts", data={**form, "list": f"marketing:{theirs}"})
    added = client.post(f"/t/{tenant_a.slug}/bulk/contacts", data={**form, "list": f"marketing:{newsletter}"})
    assert refused.status_code in (302, 303, 422) and added.status_code in (302, 303)
    with tenant_session(tenant_a.ref) as session:
        assert set(session.scalars(select(SegmentMember.contact_id))) == set(people[:2])
    with tenant_session(tenant_b.ref) as session:
        assert session.scalar(select(func.count()).select_from(SegmentMember)) == 0
    [entry] = _audits(tenant_a, "records.bulk_add_to_list")
    assert entry.details["done"] == 2 and entry.details["value"] == f"marketing:{newsletter}"
    # Leads have no lists: the action is not offered there.
    assert "Add to a static list" not in client.get(f"/t/{tenant_a.slug}/leads").text
