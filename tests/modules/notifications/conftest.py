"""Notification fixtures: a workspace with an owner and two colleagues, units of work acting as one of
them (as a page request does), and the real SMTP sink for digests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from saas.auth.models import User
from saas.auth.services import add_member
from saas.db import TenantSession, db, tenant_session
from saas.tenants.routing import ACTOR_KEY
from tests.conftest import PASSWORD, TenantFixture
from tests.mailsink import mail_sink  # noqa: F401  (the shared SMTP sink fixture)


def user_id(email: str) -> uuid.UUID:
    return db.session.scalar(select(User.id).where(User.email == email))


@dataclass
class Team:
    """A workspace's owner and two colleagues (members), by email."""

    tenant: TenantFixture
    owner: str
    ann: str
    bob: str

    def id_of(self, email: str) -> uuid.UUID:
        return user_id(email)

    @contextmanager
    def acting(self, email: str | None) -> Iterator[TenantSession]:
        """A unit of work of the workspace acting as ``email`` (None: a job's, with nobody acting)."""
        with tenant_session(self.tenant.ref) as session:
            if email is not None:
                session.info[ACTOR_KEY] = user_id(email)
            yield session


def make_team(tenant: TenantFixture) -> Team:
    suffix = tenant.slug.rsplit("-", 1)[-1]
    ann, bob = f"ann-{suffix}@example.com", f"bob-{suffix}@example.org"
    for email in (ann, bob):
        add_member(db.session, tenant.tenant.id, email, PASSWORD, "member", actor="test")
    db.session.commit()
    return Team(tenant, tenant.email, ann, bob)


@pytest.fixture
def team(tenant_a) -> Team:
    return make_team(tenant_a)
