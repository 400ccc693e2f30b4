"""schemathesis over the whole OpenAPI document against the app, as a seeded tenant's owner.

Every operation gets a bounded number of generated requests (``FUZZ_EXAMPLES``, deterministic); the
promise checked is no 5xx and every documented response matching its schema.
"""

from __future__ import annotations

import os
import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.errors import UnsupportedSchema
from schemathesis.specs.openapi.checks import response_schema_conformance

from saas.auth.services import create_api_token
from saas.db import db, tenant_session
from saas.jobs import queue
from saas.modules.core import services as core
from saas.modules.sfa.deals import deals
from saas.modules.sfa.leads import leads
from saas.tenants.provisioning import provision_tenant
from tests.conftest import PASSWORD
from tests.exports.conftest import s3, s3_server  # noqa: F401 - exports need their real (moto) bucket

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))


@pytest.fixture(scope="module")
def fuzz_headers(app) -> dict[str, str]:
    """The owner of a tenant holding a few of each record, so lists and reads render real rows."""
    with app.app_context():
        suffix = uuid.uuid4().hex[:8]
        email = f"fuzz-{suffix}@example.com"
        tenant = provision_tenant(f"fuzz-{suffix}", "Fuzz", email, PASSWORD)
        with tenant_session(tenant.ref) as session:
            account = core.accounts.create(session, {"name": "Fuzz Ltd", "domain": "fuzz.example"})
            contact = core.contacts.create(
                session,
                {
                    "first_name": "Zoë",
                    "last_name": "Fuzz",
                    "email": "zoe@fuzz.example",
                    "account_id": account.id,
                },
            )
            deals.create(session, {"name": "Fuzz deal", "amount": "12.50", "account_id": account.id,
                                   "contact_ids": [contact.id]})  # fmt: skip
            leads.create(session, {"last_name": "Lead", "company": "Fuzz"})
        _, secret = create_api_token(db.session, tenant.slug, email, "fuzz")
        db.session.commit()
        yield {"Authorization": f"Bearer {secret}"}
        # Jobs the fuzzing queued (exports, webhooks...) must not run in later tests' workers.
        queue().empty()


@pytest.mark.usefixtures("s3")
def test_api_answers_without_5xx_and_as_documented(app, fuzz_headers):
    # Operations are walked here rather than through schemathesis's pytest plugin, whose lazy
    # fixture mode does not run on pytest 9.
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: dict[str, str] = {}
    unsupported: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=FUZZ_EXAMPLES,
            deadline=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def exercise(case) -> None:
            case.call_and_validate(
                headers=fuzz_headers, checks=[not_a_server_error, response_schema_conformance]
            )

        try:
            exercise()
        except UnsupportedSchema as error:  # a limit of schemathesis's generator, not of the API
            unsupported.append(f"{operation.label}: {str(error)[:200]}")
        except (Exception, BaseExceptionGroup) as error:  # report every failing operation, not the first
            failures[operation.label] = str(error)[:2000]
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
    assert len(unsupported) <= 3, unsupported  # a few operations schemathesis cannot generate for
