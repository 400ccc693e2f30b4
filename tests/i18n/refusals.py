"""Helpers of the refusal tests: a form posted and an API called in the pseudo-locale (where every
translated text is ⟦wrapped⟧), the API's answer checked to have stayed English."""

from __future__ import annotations

import html

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import TenantFixture, bearer, csrf_token_from, make_token
from tests.i18n.test_pseudo_locale import HEADERS


def page_text(response: TestResponse) -> str:
    """The page as a person reads it: quotes and ampersands unescaped."""
    return html.unescape(response.text)


def post_form(
    client: FlaskClient, path: str, fields: dict[str, str], form_page: str | None = None
) -> TestResponse:
    """Post ``fields`` to ``path`` in the pseudo-locale, with the CSRF token of ``form_page`` (``path``)."""
    token = csrf_token_from(client.get(form_page or path, headers=HEADERS).text)
    return client.post(path, data={"csrf_token": token, **fields}, headers=HEADERS)


def api_in_english(
    client: FlaskClient, tenant: TenantFixture, method: str, path: str, **kwargs
) -> TestResponse:
    """The same refusal through the API, asked in the pseudo-locale: its problem+json stays English."""
    headers = {**HEADERS, **bearer(make_token(tenant))}
    answer = client.open(path, method=method, headers=headers, **kwargs)
    assert answer.content_type == "application/problem+json" and "⟦" not in answer.text
    return answer
