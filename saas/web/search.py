"""The global search: every enabled module's ``search`` hook, in registry order, on one tenant.

Pages only (the privacy request page uses :func:`clean_query` too), so its messages are in the reader's
language."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from saas.db import TenantSession
from saas.errors import ValidationError
from saas.modules.registry import Module, SearchHit, registry
from saas.modules.switches import enabled_module_keys

MIN_QUERY = 2
MAX_QUERY = 100
PER_MODULE = 10


@dataclass(frozen=True)
class SearchGroup:
    """One kind of record found (``Contact``...), with the module that holds it."""

    module: Module
    kind: str
    hits: list[SearchHit]

    @property
    def heading(self) -> str:
        """What the results page calls this group (translated there: the hooks mark it with ``N_``)."""
        return self.hits[0].group or f"{self.kind}s"


def clean_query(query: str | None) -> str:
    """The query as searched; refuses one too short to be useful or too long to be a search."""
    query = " ".join((query or "").split())
    if len(query) < MIN_QUERY:
        raise ValidationError(
            _("Type at least %(count)d characters to search.", count=MIN_QUERY),
            {"q": [_("At least %(count)d characters.", count=MIN_QUERY)]},
        )
    if len(query) > MAX_QUERY:
        raise ValidationError(
            _("Searches are at most %(count)d characters long.", count=MAX_QUERY),
            {"q": [_("At most %(count)d characters.", count=MAX_QUERY)]},
        )
    return query


def global_search(
    platform: Session, session: TenantSession, tenant_id: str, query: str, *, per_module: int = PER_MODULE
) -> list[SearchGroup]:
    """Records of the tenant matching ``query``, grouped by kind; switched-off modules are not asked."""
    query = clean_query(query)
    enabled = enabled_module_keys(platform, tenant_id)
    groups: list[SearchGroup] = []
    for module in registry:
        if module.search is None or module.key not in enabled:
            continue
        by_kind: dict[str, list[SearchHit]] = {}
        for hit in module.search(session, query, per_module):
            by_kind.setdefault(hit.kind, []).append(hit)
        groups += [SearchGroup(module, kind, hits) for kind, hits in by_kind.items()]
    return groups
