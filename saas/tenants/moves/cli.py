"""``saas tenants move``: move a tenant to another cell, resume a failed move, purge old copies."""

from __future__ import annotations

import json

import click

from saas.errors import SaasError


@click.command(
    "move",
    help="Move a tenant's data to another cell (region), or resume its unfinished move; "
    "--purge-finished drops old copies whose grace period (CELL_MOVE_GRACE_HOURS) is over.",
)
@click.argument("slug", required=False)
@click.option("--to", "to_cell", help="The cell to move to.")
@click.option("--purge-finished", is_flag=True, help="Drop the old copies of finished moves that are due.")
def move_command(slug: str | None, to_cell: str | None, purge_finished: bool) -> None:
    from saas.tenants.moves.service import move_tenant, purge_finished_moves

    if purge_finished:
        if slug or to_cell:
            raise click.UsageError("--purge-finished takes no tenant or cell.")
        click.echo(json.dumps({"purged": purge_finished_moves(actor="cli")}))
        return
    if not slug or not to_cell:
        raise click.UsageError("Name the tenant and the cell: saas tenants move <slug> --to <cell>.")

    def progress(step: str) -> None:
        click.echo(f"{slug}: {step}", err=True)

    try:
        move = move_tenant(slug, to_cell, actor="cli", on_step=progress)
    except SaasError as error:
        raise click.ClickException(error.detail) from None
    click.echo(json.dumps(move.as_dict()))
