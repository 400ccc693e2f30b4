"""Mapping errors to HTTP, in one place: problem+json under ``/api/``, styled pages elsewhere."""

from __future__ import annotations

import contextlib
import logging

from apiflask import APIFlask
from apiflask.exceptions import HTTPError
from flask import Response, jsonify, render_template, request
from redis import exceptions as redis_errors
from sqlalchemy import exc as sqlalchemy_errors
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from saas.db import db
from saas.errors import SaasError, ValidationError, is_out_of_space
from saas.i18n import N_, translate
from saas.tenants.moves.window import being_moved_answer, wrote_to_a_copy_left_behind

# People read these on error pages, in their language; the API keeps the English problem titles.
PAGE_TITLES = {
    400: N_("Something in the request was not right"),
    401: N_("Please sign in"),
    402: N_("Payment required"),
    403: N_("Not allowed"),
    404: N_("Page not found"),
    405: N_("This action is not available here"),
    409: N_("That clashes with what is already there"),
    413: N_("The file is too large"),
    422: N_("Some of the input needs fixing"),
    429: N_("Too many attempts"),
    500: N_("Something went wrong on our side"),
    503: N_("The service is busy"),
}
PAGE_DETAILS = {
    400: N_("The page could not understand what was sent."),
    401: N_("Sign in to see this page."),
    403: N_("You do not have access to this page."),
    404: N_("There is nothing at this address."),
    405: N_("Go back and use the page's own buttons."),
    413: N_("Send a smaller file."),
    429: N_("Wait a moment, then try again."),
    500: N_("An unexpected error occurred; it has been logged."),
    503: N_("Please try again in a moment."),
}

log = logging.getLogger(__name__)

# The database went away (restarted, failed over, unreachable) or could not serve in time (pool exhausted,
# a deadlock or a cancelled statement): the request's transaction was rolled back, so nothing was written,
# and the same request may simply be sent again. SQLAlchemy has already dropped the broken connections
# from their pools, so the next request gets fresh ones without a process restart.
DATABASE_UNAVAILABLE = (
    sqlalchemy_errors.OperationalError,
    sqlalchemy_errors.InterfaceError,
    sqlalchemy_errors.TimeoutError,
)
# Redis went away (restarted, failed over): rate limits and job queues live there. The
# client may retry; whether a write was saved is not known here (a job is queued after its commit), so
# the answer claims nothing about it. redis-py reconnects on the next call, without a process restart.
REDIS_UNAVAILABLE = (redis_errors.ConnectionError, redis_errors.TimeoutError)
RETRY_AFTER_SECONDS = 5
DATABASE_UNAVAILABLE_DETAIL = N_(
    "The database is unavailable for a moment; nothing was saved. Try again in a few seconds."
)
# The disk an upload is spooled to is full: nothing of the request was kept, and it may be sent again once
# space is freed (an operator's job, hence the longer wait).
OUT_OF_SPACE_RETRY_AFTER_SECONDS = 60
OUT_OF_SPACE_DETAIL = N_(
    "The server has no room to store this right now; nothing was saved. Try again in a few minutes."
)


def wants_problem_json() -> bool:
    return request.path.startswith("/api/")


def problem(status: int, title: str, detail: str, **extra: object) -> Response:
    """An RFC 9457 problem document."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def _page(
    status: int, detail: str | None, hint: str | None = None, title: str | None = None
) -> tuple[str, int]:
    """The styled error page: a title (the error's own, else the status's) and the detail, both in the
    reader's language (a text that is not in the catalogs stays as written)."""
    # A server error may come from a broken transaction: its page asks nothing more of the database.
    bare = status >= 500
    title = translate(title or PAGE_TITLES.get(status, PAGE_TITLES[500 if status >= 500 else 400]))
    detail = translate(detail) if detail else translate(PAGE_DETAILS.get(status, ""))
    hint = translate(hint) if hint else None
    page = render_template("error.html", status=status, title=title, detail=detail, hint=hint, bare=bare)
    return page, status


def summarise_field_errors(errors: dict[str, list[str]]) -> str:
    """``field: message`` pairs in one line, so the ``detail`` alone tells what to fix."""
    return "; ".join(f"{name}: {' '.join(map(str, messages))}" for name, messages in errors.items())


def _validation_detail(detail: dict) -> tuple[str, dict[str, list[str]]]:
    """Flatten apiflask's ``{location: {field: [messages]}}`` into ``{field: [messages]}``."""
    errors: dict[str, list[str]] = {}
    for fields in detail.values():
        if isinstance(fields, dict):
            for name, messages in fields.items():
                errors[name] = messages if isinstance(messages, list) else [str(messages)]
    return summarise_field_errors(errors) or "The request was not valid.", errors


def register_error_handlers(app: APIFlask) -> None:
    @app.error_processor
    def _api_error(error: HTTPError):
        if error.status_code == 422 and isinstance(error.detail, dict) and error.detail:
            detail, errors = _validation_detail(error.detail)
            return problem(422, "Validation failed", detail, errors=errors)
        detail = error.detail if isinstance(error.detail, str) and error.detail else error.message
        response = problem(error.status_code, error.message or "Error", detail or "")
        response.headers.extend(error.headers or {})
        return response

    @app.errorhandler(SaasError)
    def _saas_error(error: SaasError):
        if wants_problem_json():
            detail = error.detail
            if isinstance(error, ValidationError) and error.errors:
                detail = f"{detail} {summarise_field_errors(error.errors)}"
            return problem(error.status, error.title, detail, **error.extra)
        return _page(error.status, error.detail, error.hint, title=_own_title(error))

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        if wants_problem_json():
            response = problem(error.code or 500, error.name, error.description or error.name)
            for key, value in error.get_headers():
                if key.lower() != "content-type":
                    response.headers[key] = value
            return response
        # Werkzeug's own descriptions are English prose: the page says it in the reader's language.
        custom = error.description if error.description != type(error).description else None
        return _page(error.code or 500, custom)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return _http_error(error)
        if isinstance(error, DATABASE_UNAVAILABLE):
            return _database_unavailable(error)
        if is_out_of_space(error):
            return _out_of_space()
        if isinstance(error, REDIS_UNAVAILABLE):
            return _redis_unavailable(error)
        if wrote_to_a_copy_left_behind(error):
            return being_moved_answer()
        log.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        generic = InternalServerError()
        if wants_problem_json():
            return problem(500, generic.name, "An unexpected error occurred; it has been logged.")
        return _page(500, None)


def _own_title(error: SaasError) -> str | None:
    """The title an error class gave itself ("Module switched off"), not its status's generic one."""
    generic = next(klass for klass in type(error).__mro__ if klass.__module__ == SaasError.__module__)
    return error.title if error.title != generic.title else None


def _unavailable(detail: str, retry_after: int) -> Response:
    """A 503 with ``Retry-After``: problem+json under ``/api/``, the styled page elsewhere."""
    if wants_problem_json():
        response = problem(503, ServiceUnavailable().name, detail)
    else:
        page, status = _page(503, detail)
        response = Response(page, status, mimetype="text/html")
    response.headers["Retry-After"] = str(retry_after)
    return response


def _out_of_space() -> Response:
    log.error("out of disk space on %s %s", request.method, request.path)
    db.session.rollback()
    return _unavailable(OUT_OF_SPACE_DETAIL, OUT_OF_SPACE_RETRY_AFTER_SECONDS)


def _redis_unavailable(error: Exception) -> Response:
    log.warning("redis unavailable on %s %s: %s", request.method, request.path, type(error).__name__)
    with contextlib.suppress(sqlalchemy_errors.SQLAlchemyError):
        db.session.rollback()
    return _unavailable(PAGE_DETAILS[503], RETRY_AFTER_SECONDS)


def _database_unavailable(error: Exception) -> Response | tuple[str, int]:
    # The class only: a driver's message can quote the statement, and statements can hold personal data.
    log.warning(
        "database unavailable on %s %s: %s",
        request.method,
        request.path,
        type(error.__cause__ or error).__name__,
    )
    with contextlib.suppress(sqlalchemy_errors.SQLAlchemyError):  # gone already: reset at teardown
        db.session.rollback()
    return _unavailable(DATABASE_UNAVAILABLE_DETAIL, RETRY_AFTER_SECONDS)
