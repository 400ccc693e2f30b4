"""Tenant registry, provisioning, routing, per-tenant roles and tenant schema migrations."""
