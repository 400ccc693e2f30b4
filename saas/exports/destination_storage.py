"""Talking to a workspace's own bucket: a client from its destination (a cross-account role assumed
through STS with our external id, or stored keys for any S3 endpoint), the write probe, and the verified
multipart upload of an archive. Failures come out as :class:`DestinationFailure` with a reason code.

Nothing here falls back to the platform's own credentials for S3: a destination without usable
credentials fails; the platform's credentials only ever call STS to assume the customer's role.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import secrets
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

from saas.auth.crypto import SecretUnreadable, decrypt_secret
from saas.exports.models import ExportDestination

PART_BYTES = 16 * 1024 * 1024
"""Multipart part size: memory stays at one part; S3 needs at least 5 MiB for every part but the last."""

ROLE_SESSION_SECONDS = 3600

# S3 and STS error codes, grouped under the reason the page and mail explain in words.
_REASONS_BY_CODE = {
    "NoSuchBucket": "no_such_bucket",
    "InvalidAccessKeyId": "unknown_access_key",
    "SignatureDoesNotMatch": "wrong_secret",
    "AccessDenied": "access_denied",
    "AllAccessDisabled": "access_denied",
    "403": "access_denied",
    "PermanentRedirect": "wrong_region",
    "AuthorizationHeaderMalformed": "wrong_region",
    "IllegalLocationConstraintException": "wrong_region",
    "301": "wrong_region",
    "404": "no_such_bucket",
}


class DestinationFailure(Exception):
    """The bucket could not be used; ``reason`` is a code from saas.exports.destinations.REASONS."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _config(attempts: int) -> BotoConfig:
    # Short connect timeout: the probe runs inside a page request (one attempt); a delivery retries a
    # little within an attempt, and later with backoff across attempts.
    return BotoConfig(
        signature_version="s3v4",
        connect_timeout=5,
        read_timeout=60,
        retries={"max_attempts": attempts, "mode": "standard"},
    )


def _reason_of(error: Exception) -> str:
    if isinstance(error, DestinationFailure):
        return error.reason
    if isinstance(error, SecretUnreadable):
        return "secret_unreadable"
    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        return _REASONS_BY_CODE.get(code, "storage_error")
    if isinstance(error, ConnectionError | HTTPClientError):
        return "unreachable"
    return "storage_error"


def failure_from(error: Exception) -> DestinationFailure:
    """The failure to record for ``error``: its reason code, never its message."""
    return error if isinstance(error, DestinationFailure) else DestinationFailure(_reason_of(error))


def customer_client(destination: ExportDestination, *, session_name: str, attempts: int = 3) -> Any:
    """An S3 client acting as the customer: through their role, or with their stored keys."""
    if destination.kind == "aws_role":
        sts = boto3.client("sts", region_name=destination.region, config=_config(attempts))
        try:
            credentials = sts.assume_role(
                RoleArn=destination.role_arn,
                RoleSessionName=session_name,
                ExternalId=destination.external_id,
                DurationSeconds=ROLE_SESSION_SECONDS,
            )["Credentials"]
        except (ClientError, BotoCoreError) as error:
            reason = _reason_of(error)
            raise DestinationFailure("unreachable" if reason == "unreachable" else "role_refused") from error
        return boto3.client(
            "s3",
            region_name=destination.region,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            config=_config(attempts),
        )
    if destination.kind == "s3_keys":
        if not (destination.access_key_encrypted and destination.secret_key_encrypted):
            raise DestinationFailure("no_credentials")
        return boto3.client(
            "s3",
            endpoint_url=destination.endpoint_url,
            region_name=destination.region or "us-east-1",
            aws_access_key_id=decrypt_secret(destination.access_key_encrypted),
            aws_secret_access_key=decrypt_secret(destination.secret_key_encrypted),
            config=_config(attempts),
        )
    raise DestinationFailure("not_configured")


def probe_write_access(client: Any, bucket: str, prefix: str) -> None:
    """Put a small object under the prefix, read its metadata back (the upload's check does), then
    delete it; raises DestinationFailure if any step fails."""
    key = f"{prefix}.write-probe-{secrets.token_hex(8)}"
    try:
        client.put_object(Bucket=bucket, Key=key, Body=b"write access probe; deleted right away\n")
        try:
            client.head_object(Bucket=bucket, Key=key)
        finally:
            client.delete_object(Bucket=bucket, Key=key)
    except (ClientError, BotoCoreError) as error:
        raise failure_from(error) from error


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def upload_verified(
    client: Any, bucket: str, key: str, path: str, sha256_hex: str, *, part_bytes: int = PART_BYTES
) -> None:
    """Upload the file at ``path`` as a multipart upload with a SHA-256 per part (the store checks
    each part on receipt), then check the stored object's size and composite checksum against ours.

    An upload that fails midway is aborted; an object that does not verify is deleted. The whole
    file's SHA-256 travels as the object's ``sha256`` metadata, for the customer's own check.
    """
    size = os.path.getsize(path)
    upload_id = client.create_multipart_upload(
        Bucket=bucket,
        Key=key,
        ChecksumAlgorithm="SHA256",
        ContentType="application/zip",
        Metadata={"sha256": sha256_hex},
    )["UploadId"]
    part_digests: list[bytes] = []
    parts: list[dict[str, Any]] = []
    try:
        with open(path, "rb") as source:
            number = 1
            while True:
                chunk = source.read(part_bytes)
                if not chunk and number > 1:
                    break
                digest = hashlib.sha256(chunk).digest()
                answer = client.upload_part(
                    Bucket=bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=chunk,
                    ChecksumSHA256=_b64(digest),
                )
                part_digests.append(digest)
                parts.append({"PartNumber": number, "ETag": answer["ETag"], "ChecksumSHA256": _b64(digest)})
                number += 1
                if len(chunk) < part_bytes:
                    break
        client.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
        )
    except Exception:
        # The store may have dropped it already; its lifecycle rules clean up whatever remains.
        with contextlib.suppress(ClientError, BotoCoreError):
            client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        raise
    stored = client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    expected = _b64(hashlib.sha256(b"".join(part_digests)).digest())
    # S3 answers the composite checksum as "<base64>-<parts>"; a store without checksums answers none.
    checksum = (stored.get("ChecksumSHA256") or expected).split("-")[0]
    if stored.get("ContentLength") != size or checksum != expected:
        client.delete_object(Bucket=bucket, Key=key)
        raise DestinationFailure("checksum_mismatch")
