"""The HTTP answer that serves a stored file: streamed, never sniffed by the browser, and a download
unless it is an image or PDF asked for as a preview."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

from flask import Response, stream_with_context

from saas.db import TenantSession
from saas.modules.files.content_types import PREVIEWABLE
from saas.modules.files.models import StoredFile
from saas.modules.files.services import file_chunks


def content_disposition(kind: str, name: str) -> str:
    """``attachment; filename=…`` with an ASCII fallback and the UTF-8 name (RFC 6266 / 5987)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode() or "file"
    ascii_name = ascii_name.replace("\\", "_").replace('"', "_")
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def file_response(session: TenantSession, stored: StoredFile, preview: bool = False) -> Response:
    inline = preview and stored.content_type in PREVIEWABLE
    mimetype = "text/plain; charset=utf-8" if stored.content_type == "text/plain" else stored.content_type
    response = Response(stream_with_context(file_chunks(session, stored)), mimetype=mimetype)
    response.headers["Content-Length"] = str(stored.size_bytes)
    response.headers["Content-Disposition"] = content_disposition(
        "inline" if inline else "attachment", stored.name
    )
    # The app's CSP (Talisman, on every answer) applies too; what is served inline never runs script.
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
