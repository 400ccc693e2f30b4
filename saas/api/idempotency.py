"""Idempotency keys kept in the tenant's own schema, in the request's transaction.

A key's answer commits together with the work it describes: a Redis restart (where keys lived before) lost
every answer, and clients retrying after it created their records twice. A key being answered is held by a
transaction-scoped advisory lock, so a second request with it is told to retry instead of waiting.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import DateTime, Integer, LargeBinary, String, delete, func, or_, select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from saas.db import TenantBase
from saas.errors import Conflict, ValidationError
from saas.exports.format import NOT_ARCHIVED

IN_FLIGHT = "in_flight"
DONE = "done"
EXPIRED_SWEPT_PER_CLAIM = 50
"""Expired answers deleted with each new claim: the table stays small without a periodic job."""


class IdempotencyKey(TenantBase):
    """A client's key, scoped to its credential, role and route (hashed), and the first answer given."""

    __tablename__ = "api_idempotency_keys"
    # A retry window of a day, not the workspace's data: archives leave it out.
    __table_args__ = {"info": {NOT_ARCHIVED: True}}

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    """The request's method, path and body, hashed: the same key with another request is refused."""
    state: Mapped[str] = mapped_column(String(10))
    status: Mapped[int | None] = mapped_column(Integer)
    headers: Mapped[dict | None] = mapped_column(JSONB)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


@dataclass(frozen=True)
class KeptAnswer:
    status: int
    headers: dict[str, str]
    body: bytes


def claim(session: Session, digest: str, fingerprint: str, in_flight_seconds: int) -> KeptAnswer | None:
    """Claim ``digest`` for this request (None), or give the answer kept for it.

    Raises Conflict while another request holds the key, ValidationError when the key came with another
    request. The claim is a row in the request's transaction: it commits with the work, or vanishes with it.
    """
    locked = session.scalar(select(func.pg_try_advisory_xact_lock(func.hashtextextended(digest, 0))))
    if not locked:
        raise Conflict("A request with this Idempotency-Key is still in progress; retry shortly.")
    kept = session.scalar(
        select(IdempotencyKey)
        .where(IdempotencyKey.digest == digest, IdempotencyKey.expires_at > func.now())
        .execution_options(populate_existing=True)
    )
    if kept is not None:
        if kept.fingerprint != fingerprint:
            raise ValidationError(
                "This Idempotency-Key was used with a different request.",
                {"Idempotency-Key": ["Use a new key for a new request."]},
            )
        if kept.state != DONE:  # claimed by a request that committed part of its work, then died
            raise Conflict("A request with this Idempotency-Key is still in progress; retry shortly.")
        return KeptAnswer(kept.status or 200, dict(kept.headers or {}), kept.body or b"")
    _sweep_expired(session)
    values = {
        "digest": digest,
        "fingerprint": fingerprint,
        "state": IN_FLIGHT,
        "expires_at": datetime.now(UTC) + timedelta(seconds=in_flight_seconds),
    }
    statement = insert(IdempotencyKey).values(**values)
    session.execute(
        statement.on_conflict_do_update(index_elements=["digest"], set_=values),  # an expired answer
        execution_options={"synchronize_session": False},
    )
    return None


def keep(session: Session, digest: str, fingerprint: str, answer: KeptAnswer, keep_seconds: int) -> None:
    """Keep the answer under ``digest`` in the session's transaction (the caller commits); the claim may be
    gone (a refusal's work was rolled back first)."""
    values = {
        "state": DONE,
        "status": answer.status,
        "headers": answer.headers,
        "body": answer.body,
        "expires_at": datetime.now(UTC) + timedelta(seconds=keep_seconds),
    }
    statement = insert(IdempotencyKey).values(digest=digest, fingerprint=fingerprint, **values)
    session.execute(
        statement.on_conflict_do_update(index_elements=["digest"], set_=values),
        execution_options={"synchronize_session": False},
    )


def forget(session: Session, digest: str) -> None:
    """Free the claim of a request that committed part of its work and did not answer (the caller commits)."""
    session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.digest == digest, IdempotencyKey.state == IN_FLIGHT),
        execution_options={"synchronize_session": False},
    )


def _sweep_expired(session: Session) -> None:
    expired = select(IdempotencyKey.digest).where(IdempotencyKey.expires_at <= func.now())
    session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.digest.in_(expired.limit(EXPIRED_SWEPT_PER_CLAIM))),
        execution_options={"synchronize_session": False},
    )


def forget_answers_about(session: Session, needles: list[str]) -> int:
    """Delete kept answers whose body names any of ``needles`` (an erased person's id and email), as the
    JSON body spells them; returns how many."""
    spelled = {needle for value in needles if value for needle in (value, json.dumps(value)[1:-1])}
    if not spelled:
        return 0
    body = func.convert_from(IdempotencyKey.body, "UTF8")
    matches = [func.strpos(body, needle) > 0 for needle in spelled]
    return session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.body.is_not(None), or_(*matches)),
        execution_options={"synchronize_session": False},
    ).rowcount
