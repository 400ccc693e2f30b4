"""HTTP conventions every API resource gets without code of its own.

- ``ETag`` on every successful GET (a digest of the body), ``If-None-Match`` answered with 304.
- ``If-Match`` on PATCH/PUT/DELETE: compared with the ETag a GET of the same URL gives now; 412 on mismatch.
  Optional: a request without it is not refused (no 428), so existing clients keep working.
- JSON bodies larger than ``API_MAX_BODY_BYTES`` (413), malformed or nested deeper than
  ``API_MAX_JSON_DEPTH`` (400) are refused before any view runs, and so is text with NUL characters
  (422: PostgreSQL cannot store it).
- ``Idempotency-Key`` on POST: the first answer (below 500, except 409/429) is kept 24 hours per credential
  (with its role), route and key; the same key with the same request replays it, with another request is
  refused with 422. The replay comes after the authentication, scope and declared role checks.
"""

from __future__ import annotations

import hashlib
import json
import logging

from flask import Response, abort, current_app, g, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import MethodNotAllowed, NotFound, PreconditionFailed

from saas.api import idempotency
from saas.api.access import ApiPrincipal
from saas.db import tenant_session
from saas.errors import SaasError, ValidationError
from saas.tenants.routing import current_tenant_session

log = logging.getLogger(__name__)

RENDERING_CURRENT = "api_rendering_current_version"
PRECONDITION_METHODS = frozenset({"PATCH", "PUT", "DELETE"})
MAX_KEY_LENGTH = 255
IN_FLIGHT_SECONDS = 60
_NOT_KEPT = frozenset({409, 429})
_REPLAYED_HEADERS = ("Content-Type", "Location", "ETag")


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


# --- Input hygiene --------------------------------------------------------------------------------------


class MalformedBody(SaasError):
    status = 400
    title = "Malformed request body"


class BodyTooLarge(SaasError):
    status = 413
    title = "Request body too large"


def _refuse_nul_or_depth(value: object, max_depth: int) -> None:
    """Walk a decoded JSON value without recursion: a hostile body must not exhaust the Python stack."""
    pending: list[tuple[object, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise ValidationError("Text must not contain NUL characters (U+0000).")
        elif isinstance(item, dict | list):
            if depth >= max_depth:
                raise MalformedBody(f"The JSON body is nested deeper than {max_depth} levels.")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)


def _json_body(max_bytes: int) -> object:
    """The request's JSON body decoded, or a 413/400 problem instead of an exception from deep inside."""
    too_large = BodyTooLarge(f"The API accepts JSON bodies of at most {max_bytes} bytes.")
    if request.content_length is not None and request.content_length > max_bytes:
        raise too_large
    # A body without Content-Length (chunked) is read to one byte past the cap: Werkzeug stops quietly
    # at the limit, so only that extra byte tells an oversized body from one that fits exactly.
    request.max_content_length = max_bytes + 1
    raw = request.get_data(cache=True)
    if len(raw) > max_bytes:
        raise too_large
    if not raw:
        return None
    try:
        return json.loads(raw)
    except RecursionError as error:  # the decoder's own nesting limit, hit before ours could be
        raise MalformedBody("The JSON body is nested too deeply.") from error
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError
        raise MalformedBody("The body is not valid JSON.") from error


def check_api_body() -> None:
    """``before_request``: refuse oversized, malformed, too deeply nested or NUL-carrying API input."""
    if not request.path.startswith("/api/"):
        return
    max_depth = int(current_app.config["API_MAX_JSON_DEPTH"])
    _refuse_nul_or_depth([*request.args.keys(), *request.args.values()], max_depth)
    if request.is_json:
        _refuse_nul_or_depth(_json_body(int(current_app.config["API_MAX_BODY_BYTES"])), max_depth)


# --- ETag / If-Match -------------------------------------------------------------------------------------


def add_etag(response: Response) -> Response:
    """``after_request``: tag successful API GETs; answer a matching ``If-None-Match`` with 304."""
    if request.method == "GET" and response.status_code == 200 and response.mimetype == "application/json":
        response.set_etag(etag_of(response.get_data()).strip('"'))
        response.make_conditional(request)
    return response


def _current_etag() -> str | None:
    """The ETag a GET of the request's URL gives now, rendered by the resource's own GET view."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    try:
        endpoint, args = adapter.match(request.path, method="GET")
    except (NotFound, MethodNotAllowed):
        return None
    view = current_app.view_functions[endpoint]
    view_class = getattr(view, "view_class", None)
    # A MethodView's own get(), past its class decorators: the caller is authenticated already.
    g.setdefault(RENDERING_CURRENT, True)
    try:
        result = view_class().get(**args) if view_class is not None else view(**args)
    finally:
        g.pop(RENDERING_CURRENT, None)
    response = current_app.make_response(result)
    return etag_of(response.get_data()) if response.status_code == 200 else None


def check_if_match() -> None:
    """Refuse a PATCH/PUT/DELETE whose ``If-Match`` names another version than the current one (412)."""
    wanted = request.headers.get("If-Match")
    if request.method not in PRECONDITION_METHODS or not wanted:
        return
    current = _current_etag()
    if current is None:
        return
    candidates = {tag.strip().removeprefix("W/") for tag in wanted.split(",")}
    if "*" not in candidates and current not in candidates:
        raise PreconditionFailed("The record changed since you read it (If-Match does not match its ETag).")


# --- Idempotency-Key -------------------------------------------------------------------------------------


def _fingerprint() -> str:
    data = request.method.encode() + b" " + request.full_path.encode() + b"\n" + request.get_data(cache=True)
    return hashlib.sha256(data).hexdigest()


def _idempotency_digest(principal: ApiPrincipal, key: str) -> str:
    """Where a key's answer is kept: per credential, its member's role, and route (method and path).

    Another credential (or the same one after its member's role changed) never reaches this answer: it
    runs the view and gets its own authorisation's answer. The parts are hashed together, so no separator
    inside a key can make two scopes collide.
    """
    membership = principal.membership
    scope = (principal.kind, principal.id, membership.role, request.method, request.path, key)
    return hashlib.sha256(json.dumps(scope).encode()).hexdigest()


def begin_idempotent_request(principal: ApiPrincipal) -> None:
    """Replay a stored answer for a known key, refuse a reused key, or claim the key for this request.

    Called once the caller is authenticated and its scope and the view's declared roles are checked:
    a replay answers only someone the view itself would have let through.
    """
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or key is None:
        return
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationError(
            "Invalid Idempotency-Key.", {"Idempotency-Key": [f"1-{MAX_KEY_LENGTH} printable characters."]}
        )
    digest = _idempotency_digest(principal, key)
    fingerprint = _fingerprint()
    kept = idempotency.claim(current_tenant_session(), digest, fingerprint, IN_FLIGHT_SECONDS)
    if kept is not None:
        replay = Response(kept.body, status=kept.status, headers=kept.headers)
        replay.headers["Idempotent-Replayed"] = "true"
        abort(replay)
    g.idempotency_key = digest
    g.idempotency_fingerprint = fingerprint


def finish_idempotent_request(response: Response) -> Response:
    """``after_request``: keep the answer for the key in the transaction of the work it describes.

    A refusal's answer is kept too (its work rolled back first); a 5xx, 409 or 429 frees the key for a retry.
    """
    digest = g.pop("idempotency_key", None)
    fingerprint = g.pop("idempotency_fingerprint", None)
    session = g.get("tenant_session")
    if digest is None or session is None:
        return response
    if response.status_code >= 500 or response.status_code in _NOT_KEPT:
        session.rollback()
        _free(session, digest)
        return response
    if response.status_code >= 400:
        session.rollback()  # a refusal writes nothing but its answer
    answer = idempotency.KeptAnswer(
        response.status_code,
        {name: response.headers[name] for name in _REPLAYED_HEADERS if name in response.headers},
        response.get_data(),
    )
    idempotency.keep(session, digest, fingerprint, answer, int(current_app.config["API_IDEMPOTENCY_SECONDS"]))
    session.commit()
    return response


def release_idempotency_key(exc: BaseException | None = None) -> None:
    """``teardown_request``: forget the caller; a request that died unanswered frees its key for a retry
    (its claim went with its rolled-back transaction, unless a view committed part of the work)."""
    g.pop("api_principal", None)
    digest = g.pop("idempotency_key", None)
    tenant = g.get("tenant")
    if digest is not None and tenant is not None:
        try:
            with tenant_session(tenant) as session:
                _free(session, digest)
        except SQLAlchemyError:
            log.warning(
                "idempotency claim not freed on %s %s (it expires by itself)", request.method, request.path
            )


def _free(session, digest: str) -> None:
    idempotency.forget(session, digest)
    session.commit()
