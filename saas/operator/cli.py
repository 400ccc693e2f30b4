"""``saas operators``: mark user accounts as platform operators, the only way to grant the mark."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from saas.errors import SaasError

CLI_ACTOR = "cli"


@click.group("operators", cls=AppGroup, help="Platform operators: staff who may open /operator/.")
def operators_group() -> None:
    pass


def _change(change, email: str) -> bool:
    from saas.db import db

    try:
        changed = change(db.session, email, actor=CLI_ACTOR)
    except SaasError as error:
        db.session.rollback()
        raise click.ClickException(error.detail) from None
    db.session.commit()
    return changed


@operators_group.command("grant", help="Let an existing user account open the operator pages (audited).")
@click.argument("email")
def grant_command(email: str) -> None:
    from saas.operator.service import grant_operator

    click.echo(
        json.dumps(
            {"email": email.strip().lower(), "operator": True, "changed": _change(grant_operator, email)}
        )
    )


@operators_group.command("revoke", help="Take the operator mark from a user account (audited).")
@click.argument("email")
def revoke_command(email: str) -> None:
    from saas.operator.service import revoke_operator

    click.echo(
        json.dumps(
            {"email": email.strip().lower(), "operator": False, "changed": _change(revoke_operator, email)}
        )
    )


@operators_group.command("list", help="List the operators' email addresses.")
def list_command() -> None:
    from saas.db import db
    from saas.operator.service import operator_emails

    click.echo(json.dumps({"operators": operator_emails(db.session)}))
