"""Files on record pages: the panel on any record type's page (and the ticket page), uploading from it,
opening through a fresh signed link, previews, deleting, and refusals shown as a message."""

from __future__ import annotations

import io
import uuid

from saas.db import tenant_session
from saas.modules.service.tickets import tickets
from tests.conftest import csrf_token_from, login
from tests.files.conftest import PDF, add_contact

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 64


def _upload(client, slug: str, record_type: str, record_id: str, content: bytes, name: str, page, **more):
    data = {
        **more,
        "csrf_token": csrf_token_from(page.text),
        "record_type": record_type,
        "record_id": record_id,
        "file": (io.BytesIO(content), name),
    }
    return client.post(
        f"/t/{slug}/files",
        data=data,
        content_type="multipart/form-data",
        headers={"Referer": page.request.url},
    )


def test_a_member_attaches_opens_previews_and_deletes_a_file_on_a_contact_page(client, tenant_a):
    contact = add_contact(tenant_a)
    assert login(client, tenant_a.email, tenant_a.password).status_code == 302
    page = client.get(f"/t/{tenant_a.slug}/contacts/{contact}")
    assert 'data-panel="files"' in page.text

    uploaded = _upload(client, tenant_a.slug, "contacts", contact, PNG, "photo.png", page)
    assert uploaded.status_code == 302 and uploaded.location.endswith(f"/contacts/{contact}")
    page = client.get(uploaded.location)
    assert "photo.png" in page.text and "File attached" in page.text

    with tenant_session(tenant_a.ref) as session:
        from saas.modules.files.services import list_files

        [stored] = list_files(session, "contacts", contact)
    opened = client.get(f"/t/{tenant_a.slug}/files/{stored.id}")
    assert opened.status_code == 302
    download = client.get(opened.location)
    assert download.data == PNG and download.headers["Content-Disposition"].startswith("attachment;")
    preview = client.get(client.get(f"/t/{tenant_a.slug}/files/{stored.id}?preview=1").location)
    assert preview.headers["Content-Disposition"].startswith("inline;")
    assert preview.headers["X-Content-Type-Options"] == "nosniff"

    deleted = client.post(
        f"/t/{tenant_a.slug}/files/{stored.id}/delete", data={"csrf_token": csrf_token_from(page.text)}
    )
    assert deleted.status_code == 302
    after = client.get(deleted.location).text
    assert "File deleted: photo.png" in after and f"/files/{stored.id}" not in after


def test_a_refused_upload_says_why_on_the_record_page(client, tenant_a, settings):
    settings(files_max_bytes=100)
    contact = add_contact(tenant_a)
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/contacts/{contact}")

    program = _upload(client, tenant_a.slug, "contacts", contact, b"MZ" + b"\x00" * 50, "a.pdf", page)
    assert "Programs" in client.get(program.location).text
    huge = _upload(client, tenant_a.slug, "contacts", contact, b"x" * 300_000, "big.txt", page)
    assert huge.status_code == 302
    assert "nothing was stored" in client.get(huge.location).text
    assert "No files yet." in client.get(f"/t/{tenant_a.slug}/contacts/{contact}").text


def test_the_ticket_page_attaches_files_to_the_ticket_or_one_of_its_replies(client, tenant_a):
    from saas.modules.files.models import StoredFile
    from saas.modules.service.tickets import add_staff_message

    with tenant_session(tenant_a.ref) as session:
        ticket_id = str(tickets.create(session, {"subject": "Broken"}).id)
        reply_id = add_staff_message(session, uuid.UUID(ticket_id), body="Try this").id
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/tickets/{ticket_id}")
    assert 'data-panel="files"' in page.text and f'<option value="{reply_id}">Try this</option>' in page.text

    uploaded = _upload(client, tenant_a.slug, "tickets", ticket_id, PDF, "log.pdf", page)
    on_reply = _upload(
        client, tenant_a.slug, "tickets", ticket_id, PDF, "patch.pdf", page, message_id=str(reply_id)
    )

    assert uploaded.location.endswith(f"/tickets/{ticket_id}") == on_reply.location.endswith(
        f"/tickets/{ticket_id}"
    )
    assert "log.pdf" in client.get(uploaded.location).text
    with tenant_session(tenant_a.ref) as session:
        files = {f.name: f.message_id for f in session.query(StoredFile)}
    assert files == {"log.pdf": None, "patch.pdf": reply_id}
