"""Imports every model so that both metadata collections are complete (migrations, provisioning)."""

from __future__ import annotations

import importlib

_MODEL_MODULES = (
    "saas.tenants.models",
    "saas.tenants.moves.models",
    "saas.operator.models",
    "saas.auth.models",
    "saas.audit",
    "saas.modules.switches",
    "saas.billing.models",
    "saas.exports.models",
    "saas.webhooks.models",
    "saas.api.models",
    "saas.api.idempotency",
)


def load_all_models() -> None:
    for name in _MODEL_MODULES:
        importlib.import_module(name)
    from saas.modules.registry import registry

    registry.load_models()
