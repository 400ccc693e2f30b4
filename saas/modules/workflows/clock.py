"""The engine's clock under the name tests and older code use (:mod:`saas.automation.clock`)."""

from saas.automation.clock import advance, now, reset

__all__ = ["advance", "now", "reset"]
