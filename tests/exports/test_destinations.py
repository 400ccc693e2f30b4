"""Exports to the workspace's own bucket, against moto's S3 and STS servers: the nightly schedule fires
and the archive lands (through an assumed role, or stored keys), the write probe says what is wrong,
failed copies are retried and mailed, lapsed workspaces still deliver, tenants never cross, secrets are
never shown back nor archived."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import socket
import subprocess
import sys
import time
import uuid
import zipfile
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import boto3
import pytest
from sqlalchemy import select

from saas.audit import AuditEntry
from saas.auth.services import add_member, create_api_token
from saas.billing.services import open_account
from saas.db import db
from saas.exports import destination_storage, destinations, services
from saas.exports.models import Export, ExportDelivery, ExportDestination, ExportSchedule
from saas.jobs import make_worker
from saas.tenants.models import Tenant
from tests.conftest import PASSWORD, bearer, csrf_token_from, login, make_token
from tests.exports.fixtures import fill_every_table
from tests.mailsink import mail_sink  # noqa: F401  (the shared SMTP sink fixture)

ROLE_ARN = "arn:aws:iam::111122223333:role/crm-exports"
ACCESS_KEY = "AKIAEXAMPLECUSTOMER1"
SECRET_KEY = "customer-secret-Zq8v1Yk3Lw0Rt5Nd"


def _run_jobs() -> None:
    make_worker().work(burst=True)


@pytest.fixture
def aws(s3, s3_server, monkeypatch):
    """moto answers for AWS itself (STS and regional S3), as boto's own endpoint variables allow."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", s3_server)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_server)
    return s3


@pytest.fixture
def customer_bucket(s3):
    """A fresh bucket in moto, emptied and removed after the test."""
    made: list[str] = []

    def _make() -> str:
        name = f"customer-{uuid.uuid4().hex[:12]}"
        s3.create_bucket(Bucket=name)
        made.append(name)
        return name

    yield _make
    for name in made:
        for item in s3.list_objects_v2(Bucket=name).get("Contents", []) if _exists(s3, name) else []:
            s3.delete_object(Bucket=name, Key=item["Key"])
        if _exists(s3, name):
            s3.delete_bucket(Bucket=name)


def _exists(client, bucket: str) -> bool:
    return bucket in {b["Name"] for b in client.list_buckets()["Buckets"]}


@pytest.fixture
def schedules(app_ctx):
    """Schedules made by a test are switched off after it, so no other test's run starts them."""
    made: list[str] = []

    def _schedule(tenant_id: str, **timing) -> ExportSchedule:
        made.append(tenant_id)
        return services.set_schedule(
            tenant_id, frequency="daily", keep_days=30, enabled=True, actor="test", **timing
        )

    _schedule.track = made.append  # for a schedule made through the API
    yield _schedule
    for tenant_id in made:
        schedule = db.session.get(ExportSchedule, tenant_id)
        schedule.enabled = False
        db.session.commit()


def _role_destination(tenant_id: str, bucket: str, prefix: str = "nightly") -> ExportDestination:
    return destinations.save_destination(
        tenant_id,
        {"kind": "aws_role", "bucket": bucket, "prefix": prefix, "region": "us-east-1", "role_arn": ROLE_ARN},
        actor="test",
    )


def _keys_destination(tenant_id: str, bucket: str, endpoint: str, **keys) -> ExportDestination:
    values = {"kind": "s3_keys", "bucket": bucket, "prefix": "crm/", "endpoint_url": endpoint}
    values |= keys or {"access_key_id": ACCESS_KEY, "secret_access_key": SECRET_KEY}
    return destinations.save_destination(tenant_id, values, actor="test")


def _fire_schedule(tenant_id: str) -> Export:
    """Run the scheduler at the tenant's due time (a chosen now, no waiting), then the queued jobs."""
    due = db.session.get(ExportSchedule, tenant_id).next_run_at
    services.run_due_schedules(due)
    _run_jobs()
    db.session.expire_all()
    return db.session.scalars(
        select(Export).where(Export.tenant_id == tenant_id).order_by(Export.created_at.desc())
    ).first()


def _delivery(export: Export) -> ExportDelivery:
    return db.session.scalar(select(ExportDelivery).where(ExportDelivery.export_id == export.id))


def _objects(s3, bucket: str) -> dict[str, bytes]:
    return {
        item["Key"]: s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    }


def _assumed_sessions(tenant_id: str) -> list[tuple[str, str]]:
    """(role ARN, external id) of every STS session moto handed out for this workspace's exports; moto's
    server runs in this process, so its record of AssumeRole calls can be read."""
    from moto.sts.models import sts_backends

    roles = sts_backends["111122223333"]["aws"].assumed_roles
    return [(r.role_arn, r.external_id) for r in roles if r.session_name == f"opencrm-export-{tenant_id}"]


def test_nightly_schedule_delivers_the_archive_to_the_customers_bucket_through_an_assumed_role(
    app_ctx, aws, customer_bucket, schedules, tenant_a
):
    fill_every_table(tenant_a)
    db.session.get(Tenant, tenant_a.tenant.id).time_zone = "Europe/Berlin"
    db.session.commit()
    bucket = customer_bucket()
    destination = _role_destination(tenant_a.tenant.id, bucket)
    assert destination.probe_reason == "ok" and destination.external_id.startswith("opencrm-")
    assert _objects(aws, bucket) == {}  # the probe object was deleted again

    schedule = schedules(tenant_a.tenant.id, hour=2)
    due = schedule.next_run_at
    assert due.astimezone(ZoneInfo("Europe/Berlin")).hour == 2
    services.run_due_schedules(due - timedelta(minutes=1))
    assert db.session.scalar(select(Export).where(Export.tenant_id == tenant_a.tenant.id)) is None

    export = _fire_schedule(tenant_a.tenant.id)
    assert export.kind == "scheduled" and export.status == "done"
    following = db.session.get(ExportSchedule, tenant_a.tenant.id).next_run_at
    local = following.astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.hour, local.date()) == (
        2,
        due.astimezone(ZoneInfo("Europe/Berlin")).date() + timedelta(days=1),
    )

    delivered = _objects(aws, bucket)
    (key,) = delivered
    stamp = export.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    assert key == f"nightly/{tenant_a.slug}-export-{stamp}.zip"
    assert hashlib.sha256(delivered[key]).hexdigest() == export.sha256
    assert aws.head_object(Bucket=bucket, Key=key)["Metadata"]["sha256"] == export.sha256
    assert zipfile.ZipFile(io.BytesIO(delivered[key])).testzip() is None
    delivery = _delivery(export)
    assert (delivery.status, delivery.attempts, delivery.key) == ("done", 1, key)
    db.session.refresh(destination)
    assert destination.last_success_key == key and destination.last_failure_at is None
    audited = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.tenant_id == tenant_a.tenant.id)
    ).all()
    assert {"export.destination_changed", "export.destination_probed", "export.delivered"} <= set(audited)
    # The probe and the delivery each assumed the role, always with this workspace's external id.
    assert _assumed_sessions(tenant_a.tenant.id) == [(ROLE_ARN, destination.external_id)] * 2


def test_probe_says_in_words_that_the_bucket_is_missing(app, client, s3, s3_server, tenant_a, monkeypatch):
    principal = "arn:aws:iam::999988887777:role/opencrm-task"
    settings = dataclasses.replace(app.config["SAAS_SETTINGS"], export_role_principal=principal)
    monkeypatch.setitem(app.config, "SAAS_SETTINGS", settings)
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/settings/export/destination")
    external_id = db.session.get(ExportDestination, tenant_a.tenant.id).external_id
    assert principal in page.text and external_id in page.text  # what the customer's trust policy needs
    saved = client.post(
        f"/t/{tenant_a.slug}/settings/export/destination",
        data={
            "csrf_token": csrf_token_from(page.text),
            "kind": "s3_keys",
            "bucket": "no-such-bucket-here",
            "endpoint_url": s3_server,
            "access_key_id": ACCESS_KEY,
            "secret_access_key": SECRET_KEY,
            "enabled": "1",
        },
    )
    assert saved.status_code == 302
    shown = client.get(f"/t/{tenant_a.slug}/settings/export/destination").text
    assert "Failed" in shown and "The bucket does not exist." in shown
    assert "Traceback" not in shown and "NoSuchBucket" not in shown


@pytest.fixture(scope="module")
def moto_with_auth():
    """A moto server of its own that checks signatures (moto's INITIAL_NO_AUTH_ACTION_COUNT): the
    first seven requests set up a bucket and two IAM users with keys: one may use S3 fully, the other
    may only put and delete objects."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "7"}
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1")
        iam.create_user(UserName="crm-writer")
        key = iam.create_access_key(UserName="crm-writer")["AccessKey"]
        iam.put_user_policy(
            UserName="crm-writer",
            PolicyName="write",
            PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}',
        )
        iam.create_user(UserName="crm-put-only")
        narrow = iam.create_access_key(UserName="crm-put-only")["AccessKey"]
        iam.put_user_policy(
            UserName="crm-put-only",
            PolicyName="put-only",
            PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
            '"Action":["s3:PutObject","s3:DeleteObject"],"Resource":"*"}]}',
        )
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket="guarded")
        yield endpoint, key["AccessKeyId"], key["SecretAccessKey"], narrow
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_probe_tells_wrong_secret_unknown_key_and_missing_rights_from_working_keys(
    app_ctx, s3, moto_with_auth, tenant_a
):
    endpoint, key_id, secret, narrow = moto_with_auth
    tenant_id = tenant_a.tenant.id
    cases = [
        ({"access_key_id": key_id, "secret_access_key": secret}, "ok"),
        # May write but not read back what it wrote: the upload's check would fail, so the probe does.
        (
            {"access_key_id": narrow["AccessKeyId"], "secret_access_key": narrow["SecretAccessKey"]},
            "access_denied",
        ),
        ({"access_key_id": key_id, "secret_access_key": secret + "x"}, "wrong_secret"),
        ({"access_key_id": "AKIANOBODYKNOWSTHIS", "secret_access_key": secret}, "unknown_access_key"),
    ]
    for keys, expected in cases:
        destination = _keys_destination(tenant_id, "guarded", endpoint, **keys)
        assert destination.probe_reason == expected, keys
    assert destinations.reason_text("wrong_secret") == "The secret key does not match the access key."


def test_failed_copy_is_retried_with_backoff_and_succeeds_once_the_bucket_exists(
    app_ctx, s3, s3_server, customer_bucket, schedules, tenant_a
):
    bucket = f"later-{uuid.uuid4().hex[:12]}"
    _keys_destination(tenant_a.tenant.id, bucket, s3_server)
    schedules(tenant_a.tenant.id)
    export = _fire_schedule(tenant_a.tenant.id)
    delivery = _delivery(export)
    assert (delivery.status, delivery.attempts, delivery.reason) == ("pending", 1, "no_such_bucket")
    first_retry = delivery.next_attempt_at
    # Not before its time: the sweep a minute early leaves it alone.
    assert destinations.retry_due_deliveries(first_retry - timedelta(minutes=1))["outcomes"] == {}

    s3.create_bucket(Bucket=bucket)
    try:
        assert destinations.retry_due_deliveries(first_retry)["outcomes"] == {"done": 1}
        db.session.expire_all()
        delivery = _delivery(export)
        assert (delivery.status, delivery.attempts) == ("done", 2)
        (body,) = _objects(s3, bucket).values()
        assert hashlib.sha256(body).hexdigest() == export.sha256
        destination = db.session.get(ExportDestination, tenant_a.tenant.id)
        assert destination.last_success_key == delivery.key
        assert destination.last_failure_reason == "no_such_bucket"  # kept: the page shows both
    finally:
        for key in _objects(s3, bucket):
            s3.delete_object(Bucket=bucket, Key=key)
        s3.delete_bucket(Bucket=bucket)


def test_a_copy_that_keeps_failing_gives_up_after_its_retries_and_mails_the_owners(
    client,
    s3,
    s3_server,
    customer_bucket,
    schedules,
    tenant_a,
    mail_sink,  # noqa: F811 - the fixture imported above
):
    bucket = customer_bucket()
    _keys_destination(tenant_a.tenant.id, bucket, s3_server)
    s3.delete_bucket(Bucket=bucket)  # gone after the setup's probe passed
    schedules(tenant_a.tenant.id)
    export = _fire_schedule(tenant_a.tenant.id)
    waits = []
    for _ in range(destinations.MAX_ATTEMPTS - 1):
        delivery = _delivery(export)
        assert delivery.status == "pending" and mail_sink.to(tenant_a.email) == []
        waits.append(delivery.next_attempt_at)
        destinations.retry_due_deliveries(delivery.next_attempt_at)
        db.session.expire_all()
    delivery = _delivery(export)
    assert (delivery.status, delivery.attempts) == ("failed", destinations.MAX_ATTEMPTS)
    assert waits == sorted(waits)  # backoff: each retry later than the one before
    (mail,) = mail_sink.to(tenant_a.email)
    body = mail.get_content()
    assert bucket in body and "The bucket does not exist." in body
    # Given up: a later sweep does not try again.
    assert destinations.retry_due_deliveries(waits[-1] + timedelta(days=1))["outcomes"] == {}

    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/settings/export/destination").text
    assert "The bucket does not exist." in page.split('id="last-failure"')[1]


def test_upload_is_multipart_and_verified_part_by_part(app_ctx, s3, customer_bucket, tmp_path):
    bucket = customer_bucket()
    path = tmp_path / "archive.zip"
    data = os.urandom(11 * 1024 * 1024)
    path.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    destination_storage.upload_verified(s3, bucket, "a/b.zip", str(path), digest, part_bytes=5 * 1024 * 1024)
    stored = s3.head_object(Bucket=bucket, Key="a/b.zip", ChecksumMode="ENABLED")
    assert stored["ETag"].strip('"').endswith("-3")  # three parts
    assert s3.get_object(Bucket=bucket, Key="a/b.zip")["Body"].read() == data


@contextmanager
def _lapsed(app, tenant_id: str):
    """Billing on and the tenant's subscription canceled: the workspace is read-only."""
    saved = app.config.get("STRIPE_API_KEY")
    app.config["STRIPE_API_KEY"] = "sk_test_destinations"
    account = open_account(db.session, tenant_id)
    account.status, account.lapsed_at = "canceled", datetime.now(UTC)
    db.session.commit()
    try:
        yield
    finally:
        app.config["STRIPE_API_KEY"] = saved


def test_a_lapsed_workspace_still_exports_to_its_bucket(
    app, client, aws, customer_bucket, schedules, tenant_a
):
    from saas.billing.entitlements import entitlements_for

    bucket = customer_bucket()
    with _lapsed(app, tenant_a.tenant.id):
        assert not entitlements_for(db.session, tenant_a.tenant.id).can_write
        login(client, tenant_a.email, tenant_a.password)
        page = client.get(f"/t/{tenant_a.slug}/settings/export/destination")
        assert page.status_code == 200
        saved = client.post(
            f"/t/{tenant_a.slug}/settings/export/destination",
            data={
                "csrf_token": csrf_token_from(page.text),
                "kind": "aws_role",
                "bucket": bucket,
                "region": "us-east-1",
                "role_arn": ROLE_ARN,
                "enabled": "1",
            },
        )
        assert saved.status_code == 302
        schedules(tenant_a.tenant.id)
        export = _fire_schedule(tenant_a.tenant.id)
        assert export.status == "done" and _delivery(export).status == "done"
    (body,) = _objects(aws, bucket).values()
    assert hashlib.sha256(body).hexdigest() == export.sha256


def test_another_tenants_settings_never_reach_this_bucket(
    app_ctx, aws, customer_bucket, schedules, tenant_a, tenant_b
):
    bucket_a, bucket_b = customer_bucket(), customer_bucket()
    _role_destination(tenant_a.tenant.id, bucket_a)
    _role_destination(tenant_b.tenant.id, bucket_b)
    a, b = (db.session.get(ExportDestination, t.tenant.id) for t in (tenant_a, tenant_b))
    assert a.external_id != b.external_id
    schedules(tenant_a.tenant.id)
    schedules(tenant_b.tenant.id)
    export_a = _fire_schedule(tenant_a.tenant.id)
    export_b = _fire_schedule(tenant_b.tenant.id)
    (body_a,) = _objects(aws, bucket_a).values()
    (body_b,) = _objects(aws, bucket_b).values()
    assert hashlib.sha256(body_a).hexdigest() == export_a.sha256
    assert hashlib.sha256(body_b).hexdigest() == export_b.sha256
    assert export_a.sha256 != export_b.sha256
    assert set(_assumed_sessions(tenant_a.tenant.id)) == {(ROLE_ARN, a.external_id)}
    assert set(_assumed_sessions(tenant_b.tenant.id)) == {(ROLE_ARN, b.external_id)}


def test_destination_pages_and_api_are_owners_only_and_never_cross_tenants(
    client, s3, s3_server, customer_bucket, tenant_a, tenant_b
):
    bucket = customer_bucket()
    _keys_destination(tenant_a.tenant.id, bucket, s3_server)
    external_a = db.session.get(ExportDestination, tenant_a.tenant.id).external_id
    # Tenant B's owner: A's page is not B's to open, and B's API answers about B only.
    login(client, tenant_b.email, tenant_b.password)
    assert client.get(f"/t/{tenant_a.slug}/settings/export/destination").status_code in (403, 404)
    headers = bearer(make_token(tenant_b))
    mine = client.get("/api/v1/exports/destination", headers=headers).get_json()
    assert mine["bucket"] is None and mine["external_id"] != external_a
    changed = client.put(
        "/api/v1/exports/destination",
        headers=headers,
        json={"kind": "s3_keys", "bucket": "b-own-bucket", "endpoint_url": s3_server, **_keys()},
    )
    assert changed.status_code == 200 and changed.get_json()["probe_ok"] is False
    db.session.expire_all()
    assert db.session.get(ExportDestination, tenant_a.tenant.id).bucket == bucket
    assert client.delete("/api/v1/exports/destination", headers=headers).status_code == 204
    assert db.session.get(ExportDestination, tenant_a.tenant.id).bucket == bucket

    # An admin of A (not an owner) is refused the page and the API.
    email = f"admin-{uuid.uuid4().hex[:6]}@example.com"
    add_member(db.session, tenant_a.tenant.id, email, PASSWORD, "admin", actor="test")
    db.session.commit()
    _, secret = create_api_token(db.session, tenant_a.slug, email, "admin token")
    db.session.commit()
    assert client.get("/api/v1/exports/destination", headers=bearer(secret)).status_code == 403
    signed_in = login(client, email, PASSWORD)
    assert signed_in.status_code == 302, signed_in.text[:2000]
    assert client.get(f"/t/{tenant_a.slug}/settings/export").status_code == 200
    assert client.get(f"/t/{tenant_a.slug}/settings/export/destination").status_code == 403


def _keys() -> dict[str, str]:
    return {"access_key_id": ACCESS_KEY, "secret_access_key": SECRET_KEY}


def test_keys_are_write_only_and_never_in_the_archive_or_the_audit_log(
    client, s3, s3_server, customer_bucket, schedules, tenant_a
):
    fill_every_table(tenant_a)
    bucket = customer_bucket()
    headers = bearer(make_token(tenant_a))
    saved = client.put(
        "/api/v1/exports/destination",
        headers=headers,
        json={"kind": "s3_keys", "bucket": bucket, "prefix": "crm", "endpoint_url": s3_server, **_keys()},
    )
    assert saved.status_code == 200, saved.text
    body = saved.get_json()
    assert body["probe_ok"] is True and body["keys_stored"] is True and body["prefix"] == "crm/"
    read = client.get("/api/v1/exports/destination", headers=headers)
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/settings/export/destination")
    stored = db.session.get(ExportDestination, tenant_a.tenant.id)
    for secret in (ACCESS_KEY, SECRET_KEY):
        assert secret not in saved.text and secret not in read.text and secret not in page.text
        assert secret not in stored.access_key_encrypted + stored.secret_key_encrypted
    # Saving again without keys keeps the stored ones.
    again = client.put(
        "/api/v1/exports/destination",
        headers=headers,
        json={"kind": "s3_keys", "bucket": bucket, "endpoint_url": s3_server},
    )
    assert again.get_json()["probe_ok"] is True

    schedules(tenant_a.tenant.id)
    export = _fire_schedule(tenant_a.tenant.id)
    (archive,) = _objects(s3, bucket).values()
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        contents = b"".join(opened.read(name) for name in opened.namelist())
    for secret in (ACCESS_KEY, SECRET_KEY, stored.secret_key_encrypted, stored.access_key_encrypted):
        assert secret.encode() not in contents
    assert export.status == "done"
    details = db.session.scalars(
        select(AuditEntry.details).where(AuditEntry.tenant_id == tenant_a.tenant.id)
    ).all()
    assert SECRET_KEY not in str(details) and ACCESS_KEY not in str(details)


def test_bad_destination_input_is_refused_with_messages(client, s3, tenant_a):
    headers = bearer(make_token(tenant_a))
    refused = client.put(
        "/api/v1/exports/destination",
        headers=headers,
        json={"kind": "s3_keys", "bucket": "Not A Bucket", "endpoint_url": "http://169.254.169.254/"},
    )
    assert refused.status_code == 422
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    errors = refused.get_json()["errors"]
    assert {"bucket", "endpoint_url", "secret_access_key"} <= set(errors)
    role = client.put(
        "/api/v1/exports/destination", headers=headers, json={"kind": "aws_role", "bucket": "fine-bucket"}
    )
    assert role.status_code == 422 and {"region", "role_arn"} <= set(role.get_json()["errors"])

    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/settings/export/destination")
    form = client.post(
        f"/t/{tenant_a.slug}/settings/export/destination",
        data={
            "csrf_token": csrf_token_from(page.text),
            "kind": "s3_keys",
            "bucket": "x",
            "endpoint_url": "https://127.0.0.1.nip.io.invalid/",
            "secret_access_key": SECRET_KEY,
        },
    )
    assert form.status_code == 422 and "was not saved" in form.text and SECRET_KEY not in form.text
    assert db.session.get(ExportDestination, tenant_a.tenant.id).bucket is None


def test_next_run_keeps_its_local_hour_across_daylight_saving_and_weekdays():
    schedule = ExportSchedule(frequency="daily", hour=3)
    before_spring = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    first = services.next_scheduled_run(schedule, "Europe/Berlin", before_spring)
    second = services.next_scheduled_run(schedule, "Europe/Berlin", first)
    assert first == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST, the night clocks went forward
    assert second == datetime(2026, 3, 30, 1, 0, tzinfo=UTC)
    weekly = ExportSchedule(frequency="weekly", hour=23, weekday=6)  # Sundays 23:00 in Tokyo
    run = services.next_scheduled_run(weekly, "Asia/Tokyo", before_spring)
    assert run.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%A %H:%M") == "Sunday 23:00"
    assert services.next_scheduled_run(weekly, "Asia/Tokyo", run) - run == timedelta(days=7)


def test_admins_set_the_schedule_through_the_api_for_their_own_workspace_only(
    client, tenant_a, tenant_b, schedules
):
    schedules(tenant_b.tenant.id)  # B's own schedule, which A's call must leave alone
    before_b = db.session.get(ExportSchedule, tenant_b.tenant.id).next_run_at
    schedules.track(tenant_a.tenant.id)  # switched off after the test
    headers = bearer(make_token(tenant_a))
    first = client.put("/api/v1/exports/schedule", headers=headers, json={"frequency": "daily"})
    assert first.status_code == 200 and first.get_json()["hour"] is None  # a first schedule, made here
    saved = client.put(
        "/api/v1/exports/schedule",
        headers=headers,
        json={"frequency": "weekly", "hour": 4, "weekday": 2, "keep_days": 7},
    )
    assert saved.status_code == 200, saved.text
    body = saved.get_json()
    assert (body["frequency"], body["hour"], body["weekday"], body["keep_days"]) == ("weekly", 4, 2, 7)
    run = datetime.fromisoformat(body["next_run_at"]).astimezone(ZoneInfo("UTC"))
    assert (run.weekday(), run.hour) == (2, 4)  # the workspace has no time zone: UTC
    db.session.expire_all()
    b = db.session.get(ExportSchedule, tenant_b.tenant.id)
    assert (b.frequency, b.hour, b.next_run_at) == ("daily", None, before_b)
    refused = client.put("/api/v1/exports/schedule", headers=headers, json={"frequency": "daily", "hour": 25})
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"

    email = f"member-{uuid.uuid4().hex[:6]}@example.com"
    add_member(db.session, tenant_a.tenant.id, email, PASSWORD, "member", actor="test")
    _, secret = create_api_token(db.session, tenant_a.slug, email, "member token")
    db.session.commit()
    denied = client.put("/api/v1/exports/schedule", headers=bearer(secret), json={"frequency": "daily"})
    assert denied.status_code == 403


@pytest.mark.parametrize(
    ("language", "title"),
    [
        ("de", "Exporte in Ihren eigenen Bucket"),
        ("ru", "Экспорт в собственный бакет"),
        ("zh-Hans", "导出到您自己的存储桶"),
        ("fa", "برون‌بری به باکت خودتان"),
    ],
)
def test_destination_page_speaks_the_readers_language(client, tenant_a, language, title):
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(
        f"/t/{tenant_a.slug}/settings/export/destination", headers={"Accept-Language": language}
    )
    assert page.status_code == 200 and title in page.text


def test_a_bucket_removed_while_a_copy_waits_ends_it_without_retries_or_mail(
    app_ctx,
    s3,
    s3_server,
    customer_bucket,
    schedules,
    tenant_a,
    mail_sink,  # noqa: F811 - the fixture imported above
):
    bucket = customer_bucket()
    _keys_destination(tenant_a.tenant.id, bucket, s3_server)
    s3.delete_bucket(Bucket=bucket)
    schedules(tenant_a.tenant.id)
    export = _fire_schedule(tenant_a.tenant.id)
    waiting = _delivery(export)
    assert waiting.status == "pending"
    destinations.remove_destination(tenant_a.tenant.id, actor="test")
    assert destinations.retry_due_deliveries(waiting.next_attempt_at)["outcomes"] == {"failed": 1}
    db.session.expire_all()
    ended = _delivery(export)
    assert (ended.status, ended.attempts, ended.reason) == ("failed", 2, "not_configured")
    assert mail_sink.to(tenant_a.email) == []


def test_stored_keys_are_never_sent_to_a_new_endpoint(app_ctx, s3, s3_server, customer_bucket, tenant_a):
    from saas.errors import ValidationError

    bucket = customer_bucket()
    _keys_destination(tenant_a.tenant.id, bucket, s3_server)
    other_endpoint = s3_server.replace("127.0.0.1", "localhost")
    values = {"kind": "s3_keys", "bucket": bucket, "endpoint_url": other_endpoint}
    with pytest.raises(ValidationError) as refused:
        destinations.save_destination(tenant_a.tenant.id, values, actor="test")
    assert "secret_access_key" in refused.value.errors
    db.session.rollback()
    assert db.session.get(ExportDestination, tenant_a.tenant.id).endpoint_url == s3_server
    # Keys entered again for it: accepted.
    moved = destinations.save_destination(tenant_a.tenant.id, values | _keys(), actor="test")
    assert (moved.endpoint_url, moved.probe_reason) == (other_endpoint, "ok")


def test_probe_says_when_the_endpoint_cannot_be_reached(app_ctx, s3, tenant_a):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]  # nothing listens here once the socket is closed
    destination = _keys_destination(tenant_a.tenant.id, "some-bucket", f"http://127.0.0.1:{closed}")
    assert destination.probe_reason == "unreachable"
    assert destinations.reason_text("unreachable") == "The storage service could not be reached."
