"""Exports to the workspace's own bucket: the owner's destination settings (audited, keys encrypted and
never shown back), the write probe, and the delivery of each scheduled archive, retried with backoff,
shown on the page and mailed to the owners when it gives up.

A delivery copies a finished archive from our bucket: the export job itself stays unchanged, and a retry
needs nothing but the archive's record.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from saas.audit import record_audit
from saas.auth.crypto import encrypt_secret
from saas.auth.models import Membership, User
from saas.db import db
from saas.errors import NotFound, ValidationError
from saas.exports import destination_storage, storage
from saas.exports.models import Export, ExportDelivery, ExportDestination
from saas.i18n import in_locale
from saas.mail import send_mail
from saas.tenants.models import Tenant
from saas.webhooks.delivery import loopback_allowed
from saas.webhooks.ssrf import UnsafeWebhookURL, vet_webhook_url

log = logging.getLogger(__name__)

KINDS = ("aws_role", "s3_keys")
RETRY_DELAYS = (timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))
"""Waits before the 2nd, 3rd and 4th attempt; after the last one the delivery gives up (and mails)."""
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
CLAIM_SECONDS = 3600
"""An attempt holds its delivery this long: a worker killed mid-upload is retried after it."""

# What a reason code means, in words for the page, the API and the mail.
REASONS = {
    "ok": _l("The test object was written and deleted: exports can go to this bucket."),
    "no_such_bucket": _l("The bucket does not exist. Check its name and region (or endpoint)."),
    "unknown_access_key": _l("The storage service does not know this access key."),
    "wrong_secret": _l("The secret key does not match the access key."),
    "access_denied": _l("Access denied: these credentials may not write to this bucket and prefix."),
    "wrong_region": _l("The bucket is in another region than the one given."),
    "role_refused": _l(
        "The role could not be assumed. Check its ARN and that its trust policy names our account "
        "and this workspace's external id."
    ),
    "unreachable": _l("The storage service could not be reached."),
    "checksum_mismatch": _l("The uploaded archive did not match its checksum and was removed."),
    "archive_gone": _l("The archive expired before it could be delivered."),
    "archive_unreadable": _l("The archive could not be read from our own storage (on our side, not yours)."),
    "secret_unreadable": _l("The stored keys can no longer be decrypted: enter them again."),
    "no_credentials": _l("No access key is stored: enter the access key and secret."),
    "not_configured": _l("No bucket is set up."),
    "endpoint_refused": _l("The endpoint resolves to a private or loopback address, which is not allowed."),
    "storage_error": _l("The storage service refused the upload."),
}

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_REGION = re.compile(r"^[a-z0-9-]{2,40}$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_PREFIX = re.compile(r"^[\w!\-.*'()/]{0,400}$")


def _now() -> datetime:
    return datetime.now(UTC)


def reason_text(code: str | None) -> str:
    return str(REASONS.get(code or "", REASONS["storage_error"])) if code else ""


def get_destination(tenant_id: str) -> ExportDestination:
    """The workspace's destination row, made on first use with the external id its AWS role must name."""
    destination = db.session.get(ExportDestination, tenant_id)
    if destination is None:
        # Ours, random and per workspace: a customer cannot choose another customer's id for our account.
        destination = ExportDestination(
            tenant_id=tenant_id, external_id=f"opencrm-{secrets.token_hex(16)}", prefix="", enabled=False
        )
        db.session.add(destination)
        db.session.commit()
    return destination


def _clean_prefix(prefix: str) -> str:
    prefix = prefix.strip().lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return prefix


def _checked(values: dict[str, Any], destination: ExportDestination) -> dict[str, Any]:
    """The destination fields from form or API input, or ValidationError with a message per field."""
    errors: dict[str, list[str]] = {}
    kind = (values.get("kind") or "").strip()
    bucket = (values.get("bucket") or "").strip()
    prefix = _clean_prefix(values.get("prefix") or "")
    region = (values.get("region") or "").strip() or None
    endpoint_url = (values.get("endpoint_url") or "").strip() or None
    role_arn = (values.get("role_arn") or "").strip() or None
    if kind not in KINDS:
        errors["kind"] = [gettext("Choose an AWS role or an S3-compatible endpoint with keys.")]
    if not _BUCKET.match(bucket) or ".." in bucket:
        errors["bucket"] = [
            gettext("Give the bucket's name: 3 to 63 lower-case letters, digits, dots or dashes.")
        ]
    if ".." in prefix or not _PREFIX.match(prefix):
        errors["prefix"] = [gettext("A prefix of letters, digits and / - _ . only, without '..'.")]
    if region is not None and not _REGION.match(region):
        errors["region"] = [gettext("Give a region such as eu-central-1.")]
    if kind == "aws_role":
        endpoint_url = None  # AWS's own endpoints: the role is an AWS one
        if region is None:
            errors["region"] = [gettext("Give the bucket's region, such as eu-central-1.")]
        if role_arn is None or not _ROLE_ARN.match(role_arn):
            errors["role_arn"] = [gettext("Give the role's ARN: arn:aws:iam::<account>:role/<name>.")]
    elif kind == "s3_keys":
        role_arn = None
        endpoint_url = _checked_endpoint(endpoint_url, errors)
        # Write-only fields: left blank, the stored keys stay; both are needed the first time, and for a
        # new endpoint (the stored keys are never sent to a service they were not entered for).
        stored = (
            destination.kind == "s3_keys"
            and destination.secret_key_encrypted
            and destination.endpoint_url == endpoint_url
        )
        if not stored and not (values.get("access_key_id") and values.get("secret_access_key")):
            errors["secret_access_key"] = [
                gettext("Enter the access key and its secret (again, for a new endpoint).")
            ]
    if errors:
        raise ValidationError(gettext("The export destination was not saved."), errors)
    return {
        "kind": kind,
        "bucket": bucket,
        "prefix": prefix,
        "region": region,
        "endpoint_url": endpoint_url,
        "role_arn": role_arn,
    }


def _checked_endpoint(url: str | None, errors: dict[str, list[str]]) -> str | None:
    """Any S3 endpoint on the public internet over HTTPS (loopback over HTTP only in tests): the workers
    must not be pointed at our own network (the webhooks' SSRF guard decides)."""
    if url is None:
        errors["endpoint_url"] = [gettext("Give the endpoint URL, such as https://s3.example.com.")]
        return None
    try:
        target = vet_webhook_url(url, allow_loopback=loopback_allowed())
    except UnsafeWebhookURL:
        target = None
    if target is None or (target.scheme != "https" and not loopback_allowed()):
        errors["endpoint_url"] = [gettext("Give an https URL of a storage service on the internet.")]
        return None
    return url


def save_destination(tenant_id: str, values: dict[str, Any], *, actor: str) -> ExportDestination:
    """Set the workspace's bucket (audited, secrets left out of the entry), then probe it."""
    destination = get_destination(tenant_id)
    fields = _checked(values, destination)
    keys_changed = False
    if fields["kind"] == "s3_keys" and values.get("access_key_id") and values.get("secret_access_key"):
        destination.access_key_encrypted = encrypt_secret(values["access_key_id"].strip())
        destination.secret_key_encrypted = encrypt_secret(values["secret_access_key"].strip())
        keys_changed = True
    elif fields["kind"] == "aws_role":
        destination.access_key_encrypted = destination.secret_key_encrypted = None
    for name, value in fields.items():
        setattr(destination, name, value)
    destination.enabled = bool(values.get("enabled", True))
    destination.updated_by, destination.updated_at = actor, _now()
    destination.probe_at = destination.probe_reason = None
    record_audit(
        db.session,
        "export.destination_changed",
        actor=actor,
        tenant_id=tenant_id,
        details={**fields, "enabled": destination.enabled, "keys_changed": keys_changed},
    )
    db.session.commit()
    probe_destination(tenant_id, actor=actor)
    return destination


def remove_destination(tenant_id: str, *, actor: str) -> None:
    """Forget the bucket and its keys (the external id stays: the customer's role still names it)."""
    destination = get_destination(tenant_id)
    for name in ("kind", "bucket", "region", "endpoint_url", "role_arn"):
        setattr(destination, name, None)
    destination.access_key_encrypted = destination.secret_key_encrypted = None
    destination.prefix, destination.enabled = "", False
    destination.probe_at = destination.probe_reason = None
    destination.updated_by, destination.updated_at = actor, _now()
    record_audit(db.session, "export.destination_removed", actor=actor, tenant_id=tenant_id)
    db.session.commit()


def _session_name(tenant_id: str) -> str:
    return f"opencrm-export-{tenant_id}"


def _client_for(destination: ExportDestination, *, attempts: int) -> Any:
    """The customer's S3 client; an endpoint is checked again first, as its name may point elsewhere
    since it was saved."""
    if destination.kind == "s3_keys":
        try:
            vet_webhook_url(destination.endpoint_url or "", allow_loopback=loopback_allowed())
        except UnsafeWebhookURL as error:
            raise destination_storage.DestinationFailure("endpoint_refused") from error
    return destination_storage.customer_client(
        destination, session_name=_session_name(destination.tenant_id), attempts=attempts
    )


def probe_destination(tenant_id: str, *, actor: str) -> str:
    """Write and delete a probe object; the result (a reason code, ``ok`` when it worked) is kept for
    the page and audited."""
    destination = get_destination(tenant_id)
    if not destination.configured:
        raise NotFound("No export destination is set up.")
    try:
        client = _client_for(destination, attempts=1)
        destination_storage.probe_write_access(client, destination.bucket, destination.prefix)
        reason = "ok"
    except Exception as error:  # every failure is the customer's to fix: say which, keep no trace
        reason = destination_storage.failure_from(error).reason
    destination.probe_at, destination.probe_reason = _now(), reason
    record_audit(
        db.session, "export.destination_probed", actor=actor, tenant_id=tenant_id, details={"result": reason}
    )
    db.session.commit()
    return reason


def queue_delivery(export: Export) -> ExportDelivery | None:
    """After a scheduled export is done: copy it to the workspace's bucket, if one is set up and on."""
    from saas.jobs import tenant_queue

    destination = db.session.get(ExportDestination, export.tenant_id)
    if destination is None or not destination.configured or not destination.enabled:
        return None
    delivery = ExportDelivery(
        tenant_id=export.tenant_id, export_id=export.id, status="pending", attempts=0, next_attempt_at=_now()
    )
    db.session.add(delivery)
    db.session.commit()
    # The archive is read from the tenant's cell, by its workers.
    job_id = f"export-delivery-{delivery.id}-1"
    tenant_queue(export.tenant_id).enqueue(deliver_export, str(delivery.id), job_id=job_id)
    return delivery


def deliver_export(delivery_id: str) -> str:
    """The delivery job (first attempt); retries come from :func:`retry_due_deliveries`."""
    return attempt_delivery(uuid.UUID(delivery_id), _now())


def retry_due_deliveries(now: datetime | None = None) -> dict[str, Any]:
    """Periodic job: attempt every pending delivery whose retry is due (or whose queue entry was lost),
    tenant by tenant through the fan-out (lapsed workspaces included: leaving must keep working)."""
    from saas.jobs.fanout import for_each_tenant

    now = now or _now()
    due = (
        select(ExportDelivery.tenant_id, ExportDelivery.id)
        .where(ExportDelivery.status == "pending", ExportDelivery.next_attempt_at <= now)
        .order_by(ExportDelivery.next_attempt_at)
    )
    by_tenant: dict[str, list[uuid.UUID]] = {}
    for tenant_id, delivery_id in db.session.execute(due):
        by_tenant.setdefault(tenant_id, []).append(delivery_id)

    def attempt_tenants_deliveries(ref) -> list[str]:
        return [attempt_delivery(delivery_id, now) for delivery_id in by_tenant[ref.id]]

    report = for_each_tenant(
        "retry_due_deliveries",
        attempt_tenants_deliveries,
        when_read_only=True,
        needs_schema=False,
        tenant_ids=list(by_tenant),
    )
    outcomes: dict[str, int] = {}
    for results in report.results.values():
        for outcome in results:
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return {"outcomes": outcomes, **report.as_dict()}


def _dated_key(destination: ExportDestination, tenant: Tenant, export: Export) -> str:
    made = export.created_at.astimezone(UTC)
    return f"{destination.prefix}{tenant.slug}-export-{made:%Y-%m-%dT%H%M%SZ}.zip"


def attempt_delivery(delivery_id: uuid.UUID, now: datetime) -> str:
    """One attempt: claim the delivery, copy the archive, record the outcome. Returns ``done``,
    ``retry``, ``failed`` or ``skipped`` (not due, or another worker holds it)."""
    attempt = db.session.execute(
        update(ExportDelivery)
        .where(
            ExportDelivery.id == delivery_id,
            ExportDelivery.status == "pending",
            ExportDelivery.next_attempt_at <= now,
        )
        .values(attempts=ExportDelivery.attempts + 1, next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS))
        .returning(ExportDelivery.attempts)
    ).scalar()
    db.session.commit()
    if attempt is None:
        return "skipped"
    delivery = db.session.get(ExportDelivery, delivery_id)
    destination = db.session.get(ExportDestination, delivery.tenant_id)
    export = db.session.get(Export, delivery.export_id)
    tenant = db.session.get(Tenant, delivery.tenant_id)
    try:
        if destination is None or not destination.configured or not destination.enabled:
            raise destination_storage.DestinationFailure("not_configured")
        if export is None or export.status != "done" or not export.storage_key:
            raise destination_storage.DestinationFailure("archive_gone")
        key = _dated_key(destination, tenant, export)
        _copy_archive(destination, export, key, tenant.cell)
    except Exception as error:
        db.session.rollback()
        reason = destination_storage.failure_from(error).reason
        # Class only: a storage error's message may quote the bucket's answer.
        log.warning(
            "delivery %s of tenant %s failed (%s, %s)",
            delivery_id,
            delivery.tenant_id,
            reason,
            type(error).__name__,
        )
        return _record_failure(delivery_id, attempt, reason, now)
    delivery.status, delivery.key, delivery.reason, delivery.finished_at = "done", key, None, _now()
    destination.last_success_at, destination.last_success_key = _now(), key
    record_audit(
        db.session,
        "export.delivered",
        actor="job",
        tenant_id=delivery.tenant_id,
        target=str(delivery.export_id),
        details={"bucket": destination.bucket, "key": key, "attempt": attempt},
    )
    db.session.commit()
    return "done"


def _copy_archive(destination: ExportDestination, export: Export, key: str, cell: str) -> None:
    """Fetch the archive from our bucket (``cell``'s) into a scratch file (checked against the export's own
    checksum), then upload it, verified, to the customer's bucket."""
    scratch = current_app.config["SAAS_SETTINGS"].instance_dir / "exports"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=scratch, prefix="delivery-", suffix=".zip") as target:
        digest = hashlib.sha256()
        try:
            for chunk in storage.object_chunks(export.storage_key, cell=cell):
                digest.update(chunk)
                target.write(chunk)
            target.flush()
        except Exception as error:  # ours, not the customer's bucket: say so
            log.exception("export %s could not be read back for its delivery", export.id)
            raise destination_storage.DestinationFailure("archive_unreadable") from error
        if digest.hexdigest() != export.sha256:
            raise destination_storage.DestinationFailure("checksum_mismatch")
        client = _client_for(destination, attempts=3)
        destination_storage.upload_verified(client, destination.bucket, key, target.name, export.sha256)


FINAL_REASONS = frozenset({"not_configured", "archive_gone"})
"""Failures no retry can mend: the delivery gives up at once."""


def _record_failure(delivery_id: uuid.UUID, attempt: int, reason: str, now: datetime) -> str:
    delivery = db.session.get(ExportDelivery, delivery_id)
    given_up = attempt >= MAX_ATTEMPTS or reason in FINAL_REASONS
    delivery.reason = reason
    if given_up:
        delivery.status, delivery.finished_at = "failed", _now()
    else:
        delivery.next_attempt_at = now + RETRY_DELAYS[attempt - 1]
    destination = db.session.get(ExportDestination, delivery.tenant_id)
    if destination is not None and reason != "not_configured":
        destination.last_failure_at, destination.last_failure_reason = _now(), reason
    record_audit(
        db.session,
        "export.delivery_failed",
        actor="job",
        tenant_id=delivery.tenant_id,
        target=str(delivery.export_id),
        details={"reason": reason, "attempt": attempt, "gave_up": given_up},
    )
    db.session.commit()
    if given_up:
        if reason != "not_configured":  # an owner removed or switched off the bucket: nothing to say
            _mail_owners(delivery, destination, reason)
        return "failed"
    return "retry"


def _owner_recipients(tenant_id: str) -> list[tuple[str, str | None]]:
    rows = db.session.execute(
        select(User.email, User.locale)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.tenant_id == tenant_id,
            Membership.role == "owner",
            Membership.deactivated_at.is_(None),
            User.is_active_flag,
        )
        .order_by(User.email)
    ).all()
    return [(email, locale) for email, locale in rows]


def _mail_owners(delivery: ExportDelivery, destination: ExportDestination | None, reason: str) -> None:
    tenant = db.session.get(Tenant, delivery.tenant_id)
    bucket = destination.bucket if destination is not None else ""
    for email, locale in _owner_recipients(delivery.tenant_id):
        with in_locale(locale or tenant.locale):
            subject = gettext("%(workspace)s: the export to your bucket failed", workspace=tenant.name)
            body = gettext(
                "The scheduled export of %(workspace)s could not be copied to your bucket %(bucket)s "
                "after %(attempts)d attempts.\n\nReason: %(reason)s\n\nThe archive can still be "
                "downloaded from the workspace's export page until it expires. The next scheduled "
                "export will be copied again.",
                workspace=tenant.name,
                bucket=bucket,
                attempts=delivery.attempts,
                reason=reason_text(reason),
            )
        try:
            send_mail(email, subject, body)
        except Exception:  # one unreachable mail server must not hide the failure from the page
            log.exception("could not mail an owner of tenant %s about a failed delivery", delivery.tenant_id)


def destination_summary(destination: ExportDestination) -> dict[str, Any]:
    """What the page and the API show: settings and results; never a key or secret."""
    return {
        "external_id": destination.external_id,
        "kind": destination.kind,
        "bucket": destination.bucket,
        "prefix": destination.prefix,
        "region": destination.region,
        "endpoint_url": destination.endpoint_url,
        "role_arn": destination.role_arn,
        "keys_stored": bool(destination.secret_key_encrypted),
        "enabled": destination.enabled,
        "probe_at": destination.probe_at,
        "probe_ok": destination.probe_reason == "ok" if destination.probe_reason else None,
        "probe_message": reason_text(destination.probe_reason),
        "last_success_at": destination.last_success_at,
        "last_success_key": destination.last_success_key,
        "last_failure_at": destination.last_failure_at,
        "last_failure_reason": reason_text(destination.last_failure_reason),
    }
