"""Settings come only from the environment, feature tunables included."""

from __future__ import annotations

import dataclasses

from flask import Flask

from saas.app import configure
from saas.config import Settings


def test_feature_tunables_in_the_environment_reach_the_app_config(monkeypatch):
    monkeypatch.setenv("SIGNUP_RATE_LIMIT", "3 per hour")
    monkeypatch.setenv("MARKETING_BATCH_SIZE", "50")
    monkeypatch.setenv("NOT_A_TUNABLE", "x")
    monkeypatch.delenv("PRIVACY_LINK_RATE_LIMIT", raising=False)
    settings = Settings.from_environment()
    assert settings.extra == {"SIGNUP_RATE_LIMIT": "3 per hour", "MARKETING_BATCH_SIZE": "50"}
    # Real-looking service URLs so that configuring starts no embedded server.
    settings = dataclasses.replace(
        settings, database_url="postgresql://u:p@db.invalid/crm", redis_url="redis://cache.invalid:6379/0"
    )
    app = Flask(__name__)
    configure(app, settings)
    assert app.config["SIGNUP_RATE_LIMIT"] == "3 per hour" and app.config["MARKETING_BATCH_SIZE"] == "50"
    assert "PRIVACY_LINK_RATE_LIMIT" not in app.config and "NOT_A_TUNABLE" not in app.config
