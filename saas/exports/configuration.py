"""A workspace's configuration in an archive (format 2): its members and their roles, how they sign in,
what it is connected to, its module switches and its audit log, never a credential; read on export,
checked before an import writes anything, applied after.

The platform schema holds all of it, so the archive carries it in ``config/`` beside the tables' data.
"""

from __future__ import annotations

import uuid
import zoneinfo
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.audit import AuditEntry
from saas.auth.models import ROLES, Invitation, Membership, SsoConfig, User, WorkspaceSecurity
from saas.errors import ValidationError
from saas.exports.format import AUDIT_LOG, CONFIGURATION
from saas.modules.registry import registry
from saas.modules.switches import ModuleSwitch, is_module_enabled
from saas.tenants.models import Tenant

WITHHELD_CONFIGURATION_SECRETS = ("api_clients.client_secret", "sso.client_secret")
"""Secrets of the configuration that an archive leaves out (besides the tables' ``withheld`` columns).
Members' password hashes, TOTP secrets, recovery codes, sessions and personal API tokens are never read."""

SSO_FIELDS = ("issuer", "client_id", "allowed_domains", "default_role", "enabled", "sso_required")
AUDIT_FIELDS = ("at", "actor", "action", "target", "details", "ip")
AUDIT_LIMITS = {"actor": 100, "action": 100, "target": 200, "ip": 64}

Errors = dict[str, list[str]]


# -- export ------------------------------------------------------------------------------------


def read_configuration(session: Session, tenant: Tenant) -> dict[str, Any]:
    """The workspace's configuration as the archive's ``config/workspace.json`` holds it."""
    return {
        "workspace": {"locale": tenant.locale, "time_zone": tenant.time_zone},
        "members": _members(session, tenant.id),
        "sso": _sso(session, tenant.id),
        "api_clients": _api_clients(session, tenant.id),
        "module_switches": {
            module.key: is_module_enabled(session, tenant.id, module.key)
            for module in sorted(registry, key=lambda m: m.key)
            if not module.always_on
        },
        "security": {"require_two_factor": _requires_two_factor(session, tenant.id)},
    }


def _members(session: Session, tenant_id: str) -> list[dict[str, Any]]:
    """Active members, then people invited and not yet joined: email and role, nothing to sign in with."""
    people: dict[str, dict[str, Any]] = {}
    joined = session.execute(
        select(User.email, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.tenant_id == tenant_id, Membership.deactivated_at.is_(None))
    )
    for email, role in joined:
        people[email] = {"email": email, "role": role, "status": "member"}
    now = datetime.now(UTC)
    invited = session.execute(
        select(Invitation.email, Invitation.role)
        .where(
            Invitation.tenant_id == tenant_id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
        .order_by(Invitation.created_at)
    )
    for email, role in invited:
        people.setdefault(email, {"email": email, "role": role, "status": "invited"})
    return [people[email] for email in sorted(people)]


def _sso(session: Session, tenant_id: str) -> dict[str, Any] | None:
    config = session.get(SsoConfig, tenant_id)
    if config is None:
        return None
    return {
        "issuer": config.issuer,
        "client_id": config.client_id,
        "allowed_domains": sorted(config.allowed_domains or []),
        "default_role": config.default_role,
        "enabled": config.enabled,
        "sso_required": config.sso_required,
    }


def _api_clients(session: Session, tenant_id: str) -> list[dict[str, str]]:
    """Clients in use, by name and scope; their ids and secrets belong to this workspace alone."""
    from saas.api.models import OAuthClient

    rows = session.execute(
        select(OAuthClient.name, OAuthClient.scope).where(
            OAuthClient.tenant_id == tenant_id, OAuthClient.revoked_at.is_(None)
        )
    )
    return [{"name": name, "scope": scope} for name, scope in sorted(rows)]


def _requires_two_factor(session: Session, tenant_id: str) -> bool:
    security = session.get(WorkspaceSecurity, tenant_id)
    return bool(security and security.require_two_factor)


def audit_entries(session: Session, tenant_id: str) -> Iterator[dict[str, Any]]:
    """The workspace's audit log, oldest first, as ``config/audit_log.jsonl`` holds it."""
    query = (
        select(AuditEntry)
        .where(AuditEntry.tenant_id == tenant_id)
        .order_by(AuditEntry.at, AuditEntry.id)
        .execution_options(yield_per=1000)
    )
    for entry in session.scalars(query):
        yield {
            "at": entry.at.astimezone(UTC).isoformat(),
            "actor": entry.actor,
            "action": entry.action,
            "target": entry.target,
            "details": entry.details or {},
            "ip": entry.ip,
        }


# -- import: check everything first ------------------------------------------------------------


def check_configuration(configuration: Any, audit_log: list[Any]) -> Errors:
    """Every reason the configuration cannot be applied, per file and entry; empty when it can."""
    errors: Errors = {}

    def refuse(where: str, message: str) -> None:
        errors.setdefault(where, []).append(message)

    if not isinstance(configuration, dict):
        return {CONFIGURATION: ["Not a JSON object."]}
    workspace = configuration.get("workspace") or {}
    zone = workspace.get("time_zone")
    if zone is not None and (not isinstance(zone, str) or zone not in zoneinfo.available_timezones()):
        refuse(f"{CONFIGURATION} workspace.time_zone", f"Unknown time zone {zone!r}.")
    members = configuration.get("members") or []
    if not isinstance(members, list):
        refuse(f"{CONFIGURATION} members", "Not a list.")
        members = []
    for number, member in enumerate(members):
        where = f"{CONFIGURATION} members[{number}]"
        if not isinstance(member, dict) or member.get("role") not in ROLES:
            refuse(where, f"A member needs a role, one of {', '.join(ROLES)}.")
            continue
        _check(refuse, where, lambda m=member: _email(m.get("email")))
    sso = configuration.get("sso")
    if sso is not None:
        _check_sso(refuse, sso)
    for number, client in enumerate(configuration.get("api_clients") or []):
        if not isinstance(client, dict) or not all(isinstance(client.get(k), str) for k in ("name", "scope")):
            refuse(f"{CONFIGURATION} api_clients[{number}]", "An API client needs a name and a scope.")
    switches = configuration.get("module_switches") or {}
    if not isinstance(switches, dict) or not all(isinstance(v, bool) for v in switches.values()):
        refuse(f"{CONFIGURATION} module_switches", "Module switches map a module to true or false.")
    for number, entry in enumerate(audit_log, start=1):
        _check_audit_entry(refuse, f"{AUDIT_LOG} line {number}", entry)
    return errors


def _check(refuse, where: str, check) -> None:
    try:
        check()
    except ValidationError as error:
        messages = [m for ms in (error.errors or {}).values() for m in ms]
        refuse(where, " ".join([error.detail, *messages]))


def _email(value: Any) -> str:
    from saas.auth.services import normalise_email

    return normalise_email(value)


def _check_sso(refuse, sso: Any) -> None:
    from saas.auth.sso import JIT_ROLES

    where = f"{CONFIGURATION} sso"
    if not isinstance(sso, dict):
        refuse(where, "Not a JSON object.")
        return
    if not isinstance(sso.get("issuer"), str) or not sso["issuer"].startswith(("https://", "http://")):
        refuse(where, "The issuer must be a URL.")
    if not isinstance(sso.get("client_id"), str) or not 1 <= len(sso["client_id"]) <= 255:
        refuse(where, "The client id must have 1-255 characters.")
    if sso.get("default_role") not in JIT_ROLES:
        refuse(where, f"The default role must be one of {', '.join(JIT_ROLES)}.")
    domains = sso.get("allowed_domains") or []
    if not isinstance(domains, list) or not all(isinstance(d, str) for d in domains):
        refuse(where, "Allowed domains must be a list of names.")


def _check_audit_entry(refuse, where: str, entry: Any) -> None:
    if not isinstance(entry, dict) or not isinstance(entry.get("details", {}), dict):
        refuse(where, "An audit entry is a JSON object with details as an object.")
        return
    try:
        datetime.fromisoformat(entry.get("at"))
    except (TypeError, ValueError):
        refuse(where, "The entry's time (at) is not an ISO 8601 timestamp.")
    for field in ("actor", "action"):
        if not isinstance(entry.get(field), str) or not entry[field]:
            refuse(where, f"The entry needs its {field}.")
    for field, limit in AUDIT_LIMITS.items():
        value = entry.get(field)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            refuse(where, f"{field} must be a text of at most {limit} characters.")


# -- import: apply ----------------------------------------------------------------------------


def apply_configuration(
    session: Session,
    tenant: Tenant,
    owner: Membership,
    configuration: dict[str, Any],
    audit_log: list[dict[str, Any]],
    *,
    source_tenant_id: str | None,
    actor: str,
) -> list[dict[str, Any]]:
    """Apply a checked configuration to ``tenant``, whose owner is the importing person; returns the
    secrets to re-enter. Members become invitations (nobody is signed in, no password travels)."""
    workspace = configuration.get("workspace") or {}
    if workspace.get("locale"):
        from saas.i18n import normalise_locale

        tenant.locale = normalise_locale(workspace["locale"]) or tenant.locale
    tenant.time_zone = workspace.get("time_zone") or tenant.time_zone
    _invite_members(session, owner, configuration.get("members") or [])
    to_reenter: list[dict[str, Any]] = []
    if (sso := configuration.get("sso")) and session.get(SsoConfig, tenant.id) is None:
        _import_sso(session, tenant.id, sso)
        to_reenter.append({"kind": "sso_client_secret", "name": sso["issuer"]})
    for client in configuration.get("api_clients") or []:
        to_reenter.append({"kind": "api_client", "name": client["name"], "scope": client["scope"]})
    _switch_modules(session, tenant.id, configuration.get("module_switches") or {}, actor)
    if (configuration.get("security") or {}).get("require_two_factor"):
        security = session.get(WorkspaceSecurity, tenant.id) or WorkspaceSecurity(tenant_id=tenant.id)
        security.require_two_factor = True
        session.add(security)
    _append_audit_history(session, tenant.id, audit_log, source_tenant_id)
    return to_reenter


def _invite_members(session: Session, owner: Membership, members: list[dict[str, Any]]) -> None:
    from saas.auth.members import INVITATION_DAYS

    owner_email = session.get(User, owner.user_id).email
    already = set(
        session.scalars(
            select(User.email)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.tenant_id == owner.tenant_id)
        )
    )
    expires = datetime.now(UTC) + timedelta(days=INVITATION_DAYS)
    for member in members:
        email = _email(member["email"])
        if email == owner_email or email in already:
            continue
        # The invitation mechanism's own rows; the owner sends them (Settings → Restore) when ready.
        session.add(
            Invitation(
                tenant_id=owner.tenant_id,
                email=email,
                role=member["role"],
                invited_by=owner.user_id,
                expires_at=expires,
            )
        )
        already.add(email)


def _import_sso(session: Session, tenant_id: str, sso: dict[str, Any]) -> None:
    # Off until its client secret is entered again: on, it would send people to a provider that
    # refuses the workspace, and "required" would lock everyone out.
    session.add(
        SsoConfig(
            tenant_id=tenant_id,
            enabled=False,
            issuer=sso["issuer"],
            client_id=sso["client_id"],
            client_secret_encrypted="",
            allowed_domains=list(sso.get("allowed_domains") or []),
            default_role=sso["default_role"],
            sso_required=False,
        )
    )


def _switch_modules(session: Session, tenant_id: str, switches: dict[str, bool], actor: str) -> None:
    for key, enabled in sorted(switches.items()):
        module = registry.get(key)
        if module is None or module.always_on:
            continue  # a module this installation does not have, or cannot switch
        switch = session.get(ModuleSwitch, (tenant_id, key))
        if switch is None:
            session.add(ModuleSwitch(tenant_id=tenant_id, module_key=key, enabled=enabled, changed_by=actor))
        else:
            switch.enabled, switch.changed_by = enabled, actor


def _append_audit_history(
    session: Session, tenant_id: str, audit_log: list[dict[str, Any]], source_tenant_id: str | None
) -> None:
    """The archive's audit log, as it was: same times, actors and actions, marked with where it was
    written. The log is append-only (p0009), so what is imported stays the history it was."""
    for entry in audit_log:
        session.add(
            AuditEntry(
                at=datetime.fromisoformat(entry["at"]),
                tenant_id=tenant_id,
                actor=entry["actor"],
                action=entry["action"],
                target=entry.get("target"),
                details=entry.get("details") or {},
                ip=entry.get("ip"),
                imported_from=source_tenant_id or "archive",
            )
        )


def new_invitation_ids(session: Session, tenant_id: str) -> list[uuid.UUID]:
    """The open invitations of a workspace (to mail once the owner asks)."""
    now = datetime.now(UTC)
    return list(
        session.scalars(
            select(Invitation.id).where(
                Invitation.tenant_id == tenant_id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > now,
            )
        )
    )
