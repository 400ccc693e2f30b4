"""The product's exception hierarchy; :mod:`saas.web.errors` maps it to HTTP in one place."""

from __future__ import annotations

import errno

# The file system refused to grow a file: the disk (or the volume's quota) is full, or the process may
# write no bigger file (RLIMIT_FSIZE). Each is temporary and the same to the person who sent the data.
OUT_OF_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def is_out_of_space(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) is the file system having no room."""
    while error is not None:
        if isinstance(error, OSError) and error.errno in OUT_OF_SPACE_ERRNOS:
            return True
        error = error.__cause__ or error.__context__
    return False


class SaasError(Exception):
    """Base of every error the product raises on purpose."""

    status = 400
    title = "Bad request"
    hint: str | None = None
    """A line under the detail on error pages; ``None``: the usual line for the status."""

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class ValidationError(SaasError):
    """Input was refused; ``errors`` maps field names to messages."""

    status = 422
    title = "Validation failed"

    def __init__(self, detail: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail, errors=errors or {})
        self.errors = errors or {}


class TenantConnectionsExhausted(SaasError):
    """Every tenant connection this process may hold is busy; the caller may retry shortly."""

    status = 503
    title = "Service unavailable"


class NotFound(SaasError):
    status = 404
    title = "Not found"


class Conflict(SaasError):
    status = 409
    title = "Conflict"


class PermissionDenied(SaasError):
    status = 403
    title = "Forbidden"


class PaymentRequired(SaasError):
    """The workspace is read-only (unpaid, paused or cancelled) or its plan lacks what was asked for."""

    status = 402
    title = "Payment required"


class AuthenticationFailed(SaasError):
    status = 401
    title = "Unauthorized"


class ProvisioningError(SaasError):
    """Provisioning a tenant failed; nothing of it was left behind."""

    status = 409
    title = "Tenant could not be created"
