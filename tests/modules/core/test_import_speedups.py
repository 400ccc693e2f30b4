"""The import's faster paths check exactly what the API checks: ``check_email`` (each domain validated once)
gives ``validate_email``'s verdict and message, batches validated with per-batch schema and custom field
checks refuse the same rows with the same messages, and an import of many rows from few domains reports
each bad address with the library's own words."""

from __future__ import annotations

import csv
import io

import email_validator
import marshmallow
import pytest
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select

from saas.db import tenant_session
from saas.errors import ValidationError
from saas.modules.core import custom_fields, imports, phones
from saas.modules.core.emails import check_email
from saas.modules.core.models import ImportRowError
from saas.modules.core.schemas import ContactIn
from tests.conftest import bearer, make_token
from tests.modules.core.test_imports import _csv

ADDRESSES = [
    # plain, upper and mixed case, tags
    "plain@example.com",
    "UPPER@EXAMPLE.COM",
    "Mixed.Case@Sub.Example.Org",
    "user+tag@example.com",
    "postmaster@example.com",
    "POSTMASTER@Example.com",
    # internationalised domains, in Unicode, upper case and Punycode, valid or not
    "user@bücher.de",
    "user@BÜCHER.DE",
    "user@xn--bcher-kva.de",
    "user@XN--BCHER-KVA.DE",
    "user@xn--bcher.de",
    "user@xn--.de",
    "用户@例子.广告",
    "user@例え.テスト",
    "jürgen@firma.example",
    "user@ﬁrma.com",
    "user@ex⒈com",
    "user@e\u0301xample.com",
    "e\u0301@example.com",
    "user@1.xn--4dbc.com",
    "user@exam\u200bple.com",
    "user@example。com",
    # quoted local parts, escapes and what follows a closing quote
    '"john doe"@example.com',
    '"john..doe"@example.com',
    '"a\\"b"@example.com',
    '"abc"def@example.com',
    '""@example.com',
    # dots in the wrong places
    "user@example.com.",
    "user.@example.com",
    ".user@example.com",
    "us..er@example.com",
    "user@.example.com",
    "user@example..com",
    # reserved and special-use names
    "x@example.test",
    "x@foo.localhost",
    "x@host.local",
    "x@something.invalid",
    "x@arpa",
    "x@10.in-addr.arpa",
    "x@hidden.onion",
    "x@localhost",
    "x@com",
    # label and address lengths
    "x@" + "a" * 63 + ".com",
    "x@" + "a" * 64 + ".com",
    "a" * 65 + "@example.com",
    "x@" + ("a" * 60 + ".") * 5 + "com",
    "a" * 240 + "@example.com",
    "ü" * 200 + "@example.com",
    # characters, signs and brackets
    "plainaddress",
    "x\uff20example.com",
    "x@@example.com",
    "a@b@c.com",
    "x y@example.com",
    "x@exa mple.com",
    "x@exa_mple.com",
    "x@-example.com",
    "x@example-.com",
    "x\u200b@example.com",
    "x@ex\x00ample.com",
    "x@example.com\n",
    "@example.com",
    "user@",
    "John <john@example.com>",
    "<john@example.com>",
    "x@[192.168.0.1]",
    "x@[IPv6:::1]",
    "x@1.2.3.4",
    # a bad local part on a domain that is valid, then invalid, after both are cached
    ".bad@example.com",
    ".bad@example.test",
]


def _verdict(check, address: str) -> str:
    try:
        check(address)
    except EmailNotValidError as error:
        return f"{type(error).__name__}: {error}"
    return "valid"


def _library(address: str) -> None:
    validate_email(address, check_deliverability=False)


@pytest.mark.parametrize("address", ADDRESSES)
def test_check_email_gives_validate_emails_verdict_and_message(address):
    expected = _verdict(_library, address)
    assert _verdict(check_email, address) == expected
    assert _verdict(check_email, address) == expected  # the second time from the domain cache


def test_the_list_holds_valid_and_refused_addresses_of_many_kinds():
    verdicts = {_verdict(_library, address) for address in ADDRESSES}
    assert "valid" in verdicts and len(verdicts) > 25


def test_check_email_follows_the_librarys_options_as_they_change(monkeypatch):
    # The reserved names are read at each call; a cached verdict must not outlive a change of them.
    assert _verdict(check_email, "x@example.test") == _verdict(_library, "x@example.test") != "valid"
    monkeypatch.setattr(email_validator, "TEST_ENVIRONMENT", True)
    assert _verdict(check_email, "x@example.test") == _verdict(_library, "x@example.test") == "valid"
    monkeypatch.setattr(email_validator, "SPECIAL_USE_DOMAIN_NAMES", ["example.com"])
    assert _verdict(check_email, "x@example.com") == _verdict(_library, "x@example.com") != "valid"
    monkeypatch.setattr(email_validator, "ALLOW_QUOTED_LOCAL", True)
    assert _verdict(check_email, '"a b"@example.org') == _verdict(_library, '"a b"@example.org') == "valid"


@pytest.mark.parametrize("address", [a for a in ADDRESSES[::5] if a == a.strip()])
def test_the_contact_schema_refuses_an_address_with_the_librarys_message(address):
    expected = _verdict(_library, address)
    errors = ContactIn().validate({"last_name": "Doe", "email": address})
    if expected == "valid":
        assert "email" not in errors
    else:
        assert expected.split(": ", 1)[1] in errors["email"]  # after "Longer than..." for a long one


# --- the import ------------------------------------------------------------------------------------------


@pytest.fixture
def headers(tenant_a):
    return bearer(make_token(tenant_a))


def _few_domains_rows(count: int) -> tuple[list[list[str]], dict[int, str]]:
    """Rows over three domains, every seventh with a bad address; the expected reason by file row."""
    bad = [
        "x.@company.example",
        "x@example.test",
        "x@exa_mple.com",
        '"q"@company.example',
        "ab@xn--bcher.de",
        "x@" + "a" * 64 + ".example",
        "a@b@company.example",
    ]
    domains = ["company.example", "Company.Example", "bücher.example"]
    rows, expected = [], {}
    for i in range(count):
        email = f"person{i}@{domains[i % 3]}"
        if i % 7 == 3:
            email = bad[(i // 7) % len(bad)]
            expected[i + 2] = _verdict(_library, email).split(": ", 1)[1]  # row 1 is the header
        rows.append([f"First{i}", f"Last{i}", email])
    return rows, expected


def test_many_rows_from_few_domains_still_refuse_each_bad_address_with_its_message(client, tenant_a, headers):
    # Batches of 100, so that most are validated ahead, in the job's thread, while the one before is written.
    rows, expected = _few_domains_rows(700)
    with tenant_session(tenant_a.ref) as session:
        job = imports.create_import(
            session,
            entity="contacts",
            filename="few.csv",
            content=_csv(["First name", "Last name", "Email"], rows),
        )
        imports.start_import(session, job.id)
        job_id = job.id
    with tenant_session(tenant_a.ref) as session:
        done = imports.run_import(session, str(job_id), batch_size=100)
    assert (done["status"], done["imported_rows"], done["error_rows"]) == (
        "done",
        700 - len(expected),
        len(expected),
    )
    with tenant_session(tenant_a.ref) as session:
        errors = session.scalars(select(ImportRowError).where(ImportRowError.job_id == job_id))
        reported = {error.row_number: (error.column, error.reason) for error in errors}
    assert reported == {row: ("Email", reason) for row, reason in expected.items()}
    report = client.get(f"/api/v1/imports/{job_id}/errors", headers=headers).text
    assert len(list(csv.reader(io.StringIO(report)))) == 1 + len(expected)


def test_a_batch_is_judged_as_the_schema_judges_each_row_alone(client, tenant_a, headers):
    # Per-batch validation against the plain per-row load of the API's schema: same verdicts, same messages.
    response = client.post(
        "/api/v1/custom-fields",
        json={"entity": "contacts", "key": "score", "label": "Score", "field_type": "number"},
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()
    header = ["First name", "Last name", "Email", "Phone", "Score"]
    rows = [
        ["Ann", "A", "ann@example.org", "+49 30 1234567", "1.5"],
        ["", "", "nobody@example.org", "", ""],
        ["Bob", "B" * 101, "bob@example.org", "", "x"],
        ["Cy", "C", "cy@@example.org", "1" * 41, "2"],
        ["Di", "D", " DI@Example.ORG ", "not a phone", ""],
        ["Ed", "E", "", "", ""],
        ["Fay", "F", "fay@example.test", "", "1e400"],
    ]
    content = _csv(header, rows)
    with tenant_session(tenant_a.ref) as session:
        job = imports.create_import(session, entity="contacts", filename="x.csv", content=content)
        target = imports.import_target(session, "contacts")
        numbered = list(imports.CsvRows(content.decode(), ","))
        batched = imports.validate_rows(target, job.mapping["headers"], job.mapping["columns"], numbered)
        definitions = target.custom
    columns = job.mapping["columns"]
    for (_, values), (mapped, record, errors) in zip(numbered, batched, strict=True):
        cells = {name: values[index] for name, index in columns.items() if values[index].strip()}
        plain = {k: v for k, v in cells.items() if not k.startswith(custom_fields.PREFIX)}
        custom, custom_errors = custom_fields.load_text_values(definitions, cells)
        try:
            alone = phones.normalise_phone_values(ContactIn().load(plain), target.phone_region) | custom
            alone_errors = custom_errors
        except marshmallow.ValidationError as error:
            alone, alone_errors = None, error.normalized_messages() | custom_errors
        except ValidationError as error:  # a phone that is no number, as the API refuses it
            alone, alone_errors = None, error.errors | custom_errors
        if alone is not None and alone_errors:
            alone = None
        if alone is not None and not alone.get("email"):
            assert record is None and "email" in errors
            continue
        assert (mapped, record, errors) == (cells, alone, alone_errors or {})
