"""A multi-tenant cloud CRM: one PostgreSQL schema and role per tenant."""

from saas.app import create_app

__all__ = ["create_app"]
