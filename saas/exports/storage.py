"""Tenant objects in S3 (export archives, files on records): server-side encrypted uploads streamed from a
file object, streamed reads, and short-lived presigned download links.

Every object lives in the bucket of its tenant's cell (:mod:`saas.cells`): each function takes the
``cell`` explicitly and the bucket is resolved here, in one place; a cell without a bucket of its own
never borrows another cell's. An object becomes visible only when its upload completes (S3 PUT and
multipart completion are atomic), so a crashed export never leaves a half archive behind under its key.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config as BotoConfig
from flask import current_app

from saas.cells import DEFAULT_CELL, cell_directory
from saas.config import Settings
from saas.errors import SaasError


class StorageNotConfigured(SaasError):
    status = 503
    title = "Storage not configured"


def _settings() -> Settings:
    return current_app.config["SAAS_SETTINGS"]


def _declared_bucket(cell: str) -> str | None:
    # The default cell's bucket is the main setting, read live (S3_BUCKET); another cell's is declared
    # with the cell. Never one for the other: the data's residency would quietly be lost.
    if cell == DEFAULT_CELL:
        return _settings().s3_bucket
    return cell_directory().get(cell).s3_bucket


def cell_bucket(cell: str) -> str:
    """The bucket of ``cell``; refuses (503) when the cell has none."""
    bucket = _declared_bucket(cell)
    if not bucket:
        where = "S3_BUCKET" if cell == DEFAULT_CELL else f"cell {cell}'s s3_bucket"
        message = f"No S3 bucket is configured ({where}); use `saas export --out` meanwhile."
        raise StorageNotConfigured(message)
    return bucket


def storage_configured(cell: str) -> bool:
    return bool(_declared_bucket(cell))


def s3_client(cell: str) -> Any:
    """A client for ``cell``'s bucket: the cell's S3 endpoint and region where declared (a regional
    provider), else ``S3_ENDPOINT_URL`` and ``AWS_REGION``."""
    settings = _settings()
    declared = None if cell == DEFAULT_CELL else cell_directory().get(cell)
    return boto3.client(
        "s3",
        endpoint_url=(declared and declared.s3_endpoint_url) or settings.s3_endpoint_url,
        region_name=(declared and declared.s3_region) or settings.s3_region,
        config=BotoConfig(signature_version="s3v4", retries={"max_attempts": 5, "mode": "standard"}),
    )


def bucket_location(cell: str) -> tuple[str | None, str | None]:
    """(endpoint, bucket) of ``cell``'s storage: two cells with equal locations share one bucket."""
    declared = None if cell == DEFAULT_CELL else cell_directory().get(cell)
    endpoint = (declared and declared.s3_endpoint_url) or _settings().s3_endpoint_url
    return endpoint, _declared_bucket(cell)


@dataclass(frozen=True)
class StoredObject:
    """One object as S3 lists it: its key, size and ETag (which changes whenever it is written anew)."""

    key: str
    size: int
    etag: str


def list_objects(prefix: str, *, cell: str) -> list[StoredObject]:
    """Every object under ``prefix`` in ``cell``'s bucket, a page of 1,000 keys at a time from S3."""
    paginator = s3_client(cell).get_paginator("list_objects_v2")
    pages = paginator.paginate(Bucket=cell_bucket(cell), Prefix=prefix)
    return [
        StoredObject(item["Key"], int(item["Size"]), item["ETag"])
        for page in pages
        for item in page.get("Contents", [])
    ]


def open_object(key: str, *, cell: str) -> tuple[IO[bytes], StoredObject, str]:
    """A stream of the object's bytes (close it), what was opened (its ETag as read) and its content type."""
    answer = s3_client(cell).get_object(Bucket=cell_bucket(cell), Key=key)
    opened = StoredObject(key, int(answer["ContentLength"]), answer["ETag"])
    return answer["Body"], opened, answer.get("ContentType") or "application/octet-stream"


def delete_objects(keys: Iterable[str], *, cell: str) -> int:
    """Remove ``keys`` (a thousand per request, S3's limit); how many were asked for."""
    client, bucket, batch, count = s3_client(cell), cell_bucket(cell), [], 0
    for key in keys:
        batch.append({"Key": key})
        if len(batch) == 1000:
            client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
            count, batch = count + len(batch), []
    if batch:
        client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        count += len(batch)
    return count


def archive_prefix(tenant_id: str | None = None) -> str:
    """Where one tenant's archives live (every tenant's when ``tenant_id`` is None)."""
    return f"exports/{tenant_id}/" if tenant_id else "exports/"


def archive_key(tenant_id: str, export_id: str) -> str:
    return f"{archive_prefix(tenant_id)}{export_id}.zip"


def unfinished_uploads(prefix: str, *, cell: str) -> list[tuple[str, str]]:
    """(key, upload id) of multipart uploads begun under ``prefix`` and never completed or aborted.

    A worker killed while uploading a large archive leaves one: invisible under its key, but its parts
    are stored (and billed) until aborted.
    """
    paginator = s3_client(cell).get_paginator("list_multipart_uploads")
    pages = paginator.paginate(Bucket=cell_bucket(cell), Prefix=prefix)
    return [(upload["Key"], upload["UploadId"]) for page in pages for upload in page.get("Uploads", [])]


def abort_upload(key: str, upload_id: str, *, cell: str) -> None:
    s3_client(cell).abort_multipart_upload(Bucket=cell_bucket(cell), Key=key, UploadId=upload_id)


STREAM_PART_BYTES = 8 * 1024 * 1024
"""Streamed uploads go up in parts of this size (S3's multipart upload): memory stays at a few parts."""


def _encryption(content_type: str) -> dict[str, str]:
    settings = _settings()
    extra: dict[str, str] = {"ServerSideEncryption": settings.s3_sse, "ContentType": content_type}
    if settings.s3_sse == "aws:kms" and settings.s3_kms_key_id:
        extra["SSEKMSKeyId"] = settings.s3_kms_key_id
    return extra


def upload_archive(path: str, key: str, *, cell: str) -> None:
    s3_client(cell).upload_file(path, cell_bucket(cell), key, ExtraArgs=_encryption("application/zip"))


def upload_stream(stream: IO[bytes], key: str, content_type: str, *, cell: str) -> None:
    """Store what ``stream`` reads under ``key``, a part at a time (multipart above one part), so a large
    object never sits whole in memory; it appears under its key only once complete."""
    config = TransferConfig(
        multipart_threshold=STREAM_PART_BYTES, multipart_chunksize=STREAM_PART_BYTES, max_concurrency=2
    )
    bucket = cell_bucket(cell)
    s3_client(cell).upload_fileobj(stream, bucket, key, ExtraArgs=_encryption(content_type), Config=config)


def object_chunks(key: str, *, cell: str, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
    """The object's bytes in blocks, read from S3 as they are consumed."""
    body = s3_client(cell).get_object(Bucket=cell_bucket(cell), Key=key)["Body"]
    try:
        yield from body.iter_chunks(chunk_size)
    finally:
        body.close()


def tenant_object_key(tenant_id: str, name: str) -> str:
    """Where one tenant's stored object ``name`` (a file on a record) lives."""
    return f"{tenant_files_prefix(tenant_id)}{name}"


def tenant_files_prefix(tenant_id: str) -> str:
    return f"files/{tenant_id}/"


def tenant_prefixes(tenant_id: str) -> tuple[str, ...]:
    """Every prefix under which ``tenant_id``'s objects live (files on records, export archives)."""
    return (tenant_files_prefix(tenant_id), archive_prefix(tenant_id))


def presigned_download_url(key: str, filename: str, expires_in: int | None = None, *, cell: str) -> str:
    settings = _settings()
    return s3_client(cell).generate_presigned_url(
        "get_object",
        Params={
            "Bucket": cell_bucket(cell),
            "Key": key,
            "ResponseContentDisposition": f'attachment; filename="{filename}"',
        },
        ExpiresIn=expires_in or settings.export_link_seconds,
    )


def delete_object(key: str, *, cell: str) -> None:
    """Remove ``key``; removing a key that is not there is no error (S3 answers alike)."""
    s3_client(cell).delete_object(Bucket=cell_bucket(cell), Key=key)


delete_archive = delete_object


def archive_exists(key: str, *, cell: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        s3_client(cell).head_object(Bucket=cell_bucket(cell), Key=key)
    except ClientError:
        return False
    return True
