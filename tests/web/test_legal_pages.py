"""The default terms of service and privacy notice: served, marked as texts to adapt, and linked."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("path", ["/terms", "/privacy"])
def test_default_legal_text_is_served_and_says_the_operator_must_adapt_it(client, path):
    page = client.get(path)
    assert page.status_code == 200
    assert "Default text." in page.text and "must adapt it" in page.text


def test_signup_terms_checkbox_links_the_terms_and_the_privacy_notice(client):
    page = client.get("/signup").text
    start = page.index('name="accept_terms"')
    label = page[start : page.index("</label>", start)]
    assert 'href="/terms"' in label and 'href="/privacy"' in label


def test_site_footer_links_the_terms_and_the_privacy_notice(client):
    page = client.get("/").text
    footer = page[page.index('<footer class="site-footer">') :]
    assert 'href="/terms"' in footer and 'href="/privacy"' in footer
