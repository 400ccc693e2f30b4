"""Toggleable CRM modules; each plugs into :mod:`saas.modules.registry`."""
