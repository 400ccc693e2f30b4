"""The Terraform code parses and keeps its security promises (Terraform itself cannot run here).

checkov (``make infra-check``) checks general AWS hygiene; these tests check what this product
promises: encrypted data stores, a private export bucket, TLS at the edge, and containers that run
the same commands as the Dockerfile and the README.
"""

from __future__ import annotations

import json
import re
import runpy
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import pytest
from hcl2 import SerializationOptions

from saas.cells import CellConfigError, read_cells_file
from tests.test_dockerfile import WEB_COMMAND

REPO = Path(__file__).resolve().parents[2]
TERRAFORM = REPO / "infra" / "terraform"
MODULES = TERRAFORM / "modules"
STAGING = TERRAFORM / "environments" / "staging"
TF_FILES = sorted(TERRAFORM.rglob("*.tf"))
MODULE_NAMES = sorted(path.name for path in MODULES.iterdir() if path.is_dir())
REQUIRED_MODULES = {"network", "rds", "elasticache", "s3_exports", "ecs", "ses", "secrets", "logs"}
WORKER_COMMAND = '${concat(["saas", "worker"], var.cell == "default" ? [] : ["--cell", var.cell])}'
OPTIONS = SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)


@cache
def parse(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return hcl2.load(handle, serialization_options=OPTIONS)


def blocks(folder: Path, kind: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(type, name, body) of every ``kind`` block (resource, data) in a folder's .tf files."""
    for path in sorted(folder.glob("*.tf")):
        for entry in parse(path).get(kind, []):
            for type_, named in entry.items():
                for name, body in named.items():
                    yield type_, name, body


def resource(folder: Path, type_: str, name: str = "this") -> dict[str, Any]:
    for found_type, found_name, body in blocks(folder, "resource"):
        if (found_type, found_name) == (type_, name):
            return body
    raise AssertionError(f"{folder.name} has no {type_}.{name}")


def single(block: Any) -> dict[str, Any]:
    """A nested block, which the parser gives as a one-element list."""
    assert isinstance(block, list) and len(block) == 1, block
    return block[0]


def named(folder: Path, kind: str) -> dict[str, dict[str, Any]]:
    """Variables or outputs of a module by name."""
    return {
        name: body for entry in parse(folder / f"{kind}s.tf").get(kind, []) for name, body in entry.items()
    }


def variable_default(folder: Path, expression: str) -> Any:
    """The default of ``${var.NAME}``, or the literal itself when it is not a variable."""
    match = re.fullmatch(r"\$\{var\.(\w+)\}", str(expression))
    return named(folder, "variable")[match.group(1)].get("default") if match else expression


def locals_of(folder: Path) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for path in sorted(folder.glob("*.tf")):
        for entry in parse(path).get("locals", []):
            merged.update(entry)
    return merged


@pytest.mark.parametrize("path", TF_FILES, ids=lambda p: str(p.relative_to(TERRAFORM)))
def test_every_terraform_file_parses(path):
    assert isinstance(parse(path), dict)


def test_the_required_modules_exist_and_staging_composes_all_of_them():
    assert len(TF_FILES) > 30
    assert set(MODULE_NAMES) >= REQUIRED_MODULES | {"cell"}
    sources = {body["source"] for body in module_calls(STAGING).values()}
    assert sources == {f"../../modules/{name}" for name in MODULE_NAMES}


@pytest.mark.parametrize("module", MODULE_NAMES)
def test_every_module_documents_its_variables_and_outputs(module):
    folder = MODULES / module
    assert {"main.tf", "variables.tf", "outputs.tf"} <= {p.name for p in folder.glob("*.tf")}
    for kind in ("variable", "output"):
        items = named(folder, kind)
        assert items, f"{module} declares no {kind}s"
        undocumented = [name for name, body in items.items() if len(body.get("description", "")) < 10]
        assert not undocumented, f"{module}: {kind}s without a description: {undocumented}"
    for name, body in named(folder, "variable").items():
        assert "type" in body, f"{module}: variable {name} has no type"


def test_every_checkov_skip_carries_a_justification():
    skips = [
        (path.relative_to(TERRAFORM), line.strip())
        for path in TF_FILES
        for line in path.read_text().splitlines()
        if "checkov:skip" in line
    ]
    assert skips, "expected the documented skips (ALB port 80, log bucket SSE-S3, ...)"
    for where, line in skips:
        match = re.search(r"checkov:skip=(CKV2?_AWS_\d+):(.+)$", line)
        assert match and len(match.group(2).split()) >= 8, f"{where}: skip without a real reason: {line}"


def test_export_bucket_uses_sse_kms_blocks_public_access_and_keeps_versions():
    folder = MODULES / "s3_exports"
    encryption = single(resource(folder, "aws_s3_bucket_server_side_encryption_configuration")["rule"])
    default = single(encryption["apply_server_side_encryption_by_default"])
    assert default["sse_algorithm"] == "aws:kms"
    assert default["kms_master_key_id"] == "${var.kms_key_arn}"
    public = resource(folder, "aws_s3_bucket_public_access_block")
    flags = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    assert all(public[flag] is True for flag in flags)
    versioning = single(resource(folder, "aws_s3_bucket_versioning")["versioning_configuration"])
    assert versioning["status"] == "Enabled"
    rules = resource(folder, "aws_s3_bucket_lifecycle_configuration")["rule"]
    assert any("expiration" in rule for rule in rules)
    assert any("abort_incomplete_multipart_upload" in rule for rule in rules)
    policy = str(resource(folder, "aws_s3_bucket_policy")["policy"])
    assert "aws:SecureTransport" in policy


def test_database_is_encrypted_private_backed_up_and_protected_from_deletion():
    folder = MODULES / "rds"
    instance = resource(folder, "aws_db_instance")
    assert instance["storage_encrypted"] is True
    assert instance["kms_key_id"] == "${var.kms_key_arn}"
    assert instance["publicly_accessible"] is False
    assert instance["manage_master_user_password"] is True  # no password in Terraform state
    assert variable_default(folder, instance["backup_retention_period"]) >= 7
    assert variable_default(folder, instance["deletion_protection"]) is True
    assert instance["multi_az"] == "${var.multi_az}"  # an option, on by default
    assert variable_default(folder, instance["multi_az"]) is True
    parameters = {p["name"]: p["value"] for p in resource(folder, "aws_db_parameter_group")["parameter"]}
    assert parameters["rds.force_ssl"] == "1"
    assert parameters["log_statement"] == "ddl"  # never "all": data statements carry personal data


def test_redis_is_encrypted_in_transit_and_at_rest_and_needs_a_password():
    group = resource(MODULES / "elasticache", "aws_elasticache_replication_group")
    assert group["transit_encryption_enabled"] is True
    assert group["at_rest_encryption_enabled"] is True
    assert group["kms_key_id"] == "${var.kms_key_arn}"
    assert group["auth_token"] == "${var.auth_token}"
    assert named(MODULES / "elasticache", "variable")["auth_token"]["sensitive"] is True
    redis_url = parse(STAGING / "main.tf")["module"]
    assert "rediss://" in str(redis_url)  # the app's REDIS_URL speaks TLS


def test_web_and_worker_containers_run_the_dockerfile_and_readme_commands():
    folder = MODULES / "ecs"
    names = locals_of(folder)
    assert names["web_command"] == WEB_COMMAND
    # Plain `saas worker` for the default cell (it also starts the scheduler), `--cell NAME` for a cell.
    assert names["worker_command"] == WORKER_COMMAND
    assert names["tasks"]["web"]["command"] == "${local.web_command}"
    assert names["tasks"]["worker"]["command"] == "${local.worker_command}"
    assert "saas tenants migrate --jobs" in names["migrate_command"][-1]
    definition = resource(folder, "aws_ecs_task_definition")["container_definitions"]
    # Unchanged, or behind the wrapper that writes the cells file and then execs it.
    wrapped = "concat(local.cells_file_wrapper, each.value.command)"
    assert f'command = var.cells_file == "" ? each.value.command : {wrapped}' in definition
    assert names["cells_file_wrapper"][2].endswith('exec "$@"')
    assert "readonlyRootFilesystem = true" in definition


def test_web_task_stops_later_than_gunicorn_finishes_its_requests():
    graceful = runpy.run_path(str(REPO / "gunicorn.conf.py"))["graceful_timeout"]
    assert locals_of(MODULES / "ecs")["tasks"]["web"]["stop_timeout"] > graceful


def test_services_run_in_private_subnets_without_public_addresses():
    service = resource(MODULES / "ecs", "aws_ecs_service")
    network = single(service["network_configuration"])
    assert network["assign_public_ip"] is False
    assert network["subnets"] == "${var.private_subnet_ids}"


def test_load_balancer_serves_tls_and_redirects_plain_http():
    folder = MODULES / "ecs"
    https = resource(folder, "aws_lb_listener", "https")
    assert (https["port"], https["protocol"]) == (443, "HTTPS")
    assert https["ssl_policy"].startswith("ELBSecurityPolicy-TLS13")
    assert https["certificate_arn"] == "${var.certificate_arn}"
    http = resource(folder, "aws_lb_listener", "http_redirect")
    action = single(http["default_action"])
    redirect = single(action["redirect"])
    assert (http["port"], action["type"]) == (80, "redirect")
    assert (redirect["protocol"], redirect["port"], redirect["status_code"]) == ("HTTPS", "443", "HTTP_301")
    assert resource(folder, "aws_lb")["drop_invalid_header_fields"] is True
    hidden = resource(folder, "aws_lb_listener_rule", "hide_metrics")
    assert "/metrics" in str(hidden["condition"])


def test_log_groups_are_kms_encrypted_and_kept_a_year():
    folder = MODULES / "logs"
    group = resource(folder, "aws_cloudwatch_log_group")
    assert group["kms_key_id"] == "${var.kms_key_arn}"
    assert variable_default(folder, group["retention_in_days"]) >= 365


def test_secrets_manager_holds_the_app_secrets_under_our_key():
    folder = MODULES / "secrets"
    secret = resource(folder, "aws_secretsmanager_secret")
    assert secret["kms_key_id"] == "${var.kms_key_arn}"
    names = set(named(folder, "variable")["names"]["default"])
    assert {"SECRET_KEY", "DATABASE_URL", "STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET"} <= names


def test_keys_rotate():
    key = resource(MODULES / "kms", "aws_kms_key")
    assert key["enable_key_rotation"] is True


# --- PgBouncer sidecar of web and worker (docs/operations.md, "PgBouncer in transaction mode") ---

ECS = MODULES / "ecs"
LOOPBACK = "127.0.0.1"
PGBOUNCER_PORT = 6432
PGBOUNCER_AUTH_QUERY = "SELECT usename, passwd FROM pgbouncer.get_auth($1)"
PGBOUNCER_TMP = [{"sourceVolume": "pgbouncer-tmp", "containerPath": "/tmp", "readOnly": False}]


def heredoc(text: str) -> str:
    """The body of a ``<<-EOT`` string as the parser gives it, without its markers and indentation."""
    lines = text.splitlines()
    assert lines[0].startswith("<<") and lines[-1].strip() == lines[0].lstrip("<-"), text[:80]
    body = lines[1:-1]
    indent = min(len(line) - len(line.lstrip()) for line in body if line.strip())
    return "\n".join(line[indent:] for line in body)


def pgbouncer_ini() -> dict[str, dict[str, str]]:
    """pgbouncer.ini of the sidecar by section, key => value (Terraform references left as written)."""
    sections: dict[str, dict[str, str]] = {}
    section = ""
    for line in heredoc(locals_of(ECS)["pgbouncer_ini"]).splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            sections[section] = {}
        elif "=" in line:
            key, _, value = line.partition("=")
            sections[section][key.strip()] = value.strip()
    return sections


def app_definition() -> str:
    return resource(ECS, "aws_ecs_task_definition")["container_definitions"]


def test_web_and_worker_tasks_run_a_pgbouncer_sidecar_on_the_task_loopback():
    names = locals_of(ECS)
    assert names["tasks"]["web"]["pgbouncer"] is True
    assert names["tasks"]["worker"]["pgbouncer"] is True
    # The task definition is the app container, then the init container and the sidecar for tasks
    # with pgbouncer (slice of the three), and only the app container for the others.
    definition = app_definition()
    assert re.search(r"jsonencode\(slice\(\[merge\(\{name = each\.key,", definition)
    assert definition.index("local.pgbouncer_init_container") < definition.index("local.pgbouncer_container")
    assert "each.value.pgbouncer ? 3 : 1))" in definition
    # The app starts once PgBouncer answers and stops before it.
    waits = '{dependsOn = [{containerName = "pgbouncer", condition = "HEALTHY"}]}'
    assert f"each.value.pgbouncer ? {waits} : {{}}" in definition
    volumes = resource(ECS, "aws_ecs_task_definition")["dynamic"]
    assert any(v["volume"]["for_each"] == '${each.value.pgbouncer ? ["pgbouncer-tmp"] : []}' for v in volumes)

    assert names["pgbouncer_port"] == PGBOUNCER_PORT
    ini = pgbouncer_ini()
    settings = ini["pgbouncer"]
    assert settings["listen_addr"] == LOOPBACK  # only the task's own containers reach it
    assert settings["listen_port"] == "${local.pgbouncer_port}"
    assert settings["unix_socket_dir"] == ""
    assert settings["pool_mode"] == "transaction"
    assert settings["auth_type"] == "scram-sha-256"
    assert settings["auth_query"] == PGBOUNCER_AUTH_QUERY
    assert settings["auth_file"].startswith("/tmp/")  # written at start: the root filesystem is read-only
    assert settings["server_tls_sslmode"] == "verify-full"  # RDS forces TLS; check whom we talk to
    (database,) = ini["databases"].items()
    assert database[0] == "${var.database_name}"
    assert "host=${var.database_host}" in database[1] and "port=${var.database_port}" in database[1]
    assert "auth_user=pgbouncer_auth" in database[1]

    sidecar = names["pgbouncer_container"]
    assert sidecar["name"] == "pgbouncer"
    assert sidecar["image"] == "${var.pgbouncer_image}"
    assert sidecar["essential"] is True
    assert sidecar["readonlyRootFilesystem"] is True and sidecar["privileged"] is False
    assert sidecar["user"] == "${local.pgbouncer_user}"
    assert not names["pgbouncer_user"].startswith(("0:", "root")) and names["pgbouncer_user"] != "0"
    assert sidecar["portMappings"] == []  # nothing outside the task connects to it
    assert sidecar["mountPoints"] == PGBOUNCER_TMP
    assert sidecar["command"] == ["${local.pgbouncer_start}"]
    assert sidecar["dependsOn"] == [{"containerName": "pgbouncer-init", "condition": "SUCCESS"}]
    health = sidecar["healthCheck"]["command"]
    assert "pg_isready" in health and LOOPBACK in health
    start = heredoc(names["pgbouncer_start"])
    assert "/tmp/pgbouncer.ini" in start and start.splitlines()[-1] == "exec pgbouncer /tmp/pgbouncer.ini"

    # The one-shot init container only hands the scratch volume to the sidecar's uid.
    init = names["pgbouncer_init_container"]
    assert init["essential"] is False and init["readonlyRootFilesystem"] is True
    assert init["secrets"] == [] and init["environment"] == []
    assert init["mountPoints"] == PGBOUNCER_TMP

    # A pinned PgBouncer 1.21+ (prepared statements in transaction mode), never a moving tag.
    image = named(ECS, "variable")["pgbouncer_image"]["default"]
    version = re.search(r":v?(\d+)\.(\d+)\.(\d+)", image)
    assert version and (int(version[1]), int(version[2])) >= (1, 21), image
    assert not image.endswith(":latest")


def test_migrate_task_has_no_sidecar_and_goes_directly_to_postgres():
    tasks = locals_of(ECS)["tasks"]
    assert tasks["migrate"]["pgbouncer"] is False
    assert "pgbouncer" not in tasks["migrate"]["environment"]
    assert "TENANT_DATABASE_URL" not in locals_of(ECS)["base_environment"]


def test_app_containers_send_tenant_connections_to_the_sidecar():
    names = locals_of(ECS)
    for task in ("web", "worker"):
        assert "local.pgbouncer_environment" in names["tasks"][task]["environment"]
    environment = names["pgbouncer_environment"]
    url = environment["TENANT_DATABASE_URL"].replace("${local.pgbouncer_port}", str(names["pgbouncer_port"]))
    assert url == f"postgresql://{LOOPBACK}:{PGBOUNCER_PORT}/${{var.database_name}}"  # no user, no password
    # Prepared statements stay on with PgBouncer 1.21+ (max_prepared_statements in the ini); the one
    # variable that turns them off in PgBouncer turns them off in the app.
    assert "var.pgbouncer_max_prepared_statements > 0" in environment["TENANT_DB_PREPARED_STATEMENTS"]
    assert named(ECS, "variable")["pgbouncer_max_prepared_statements"]["default"] > 0
    assert "${local.pgbouncer_prepared_statements}" in heredoc(names["pgbouncer_ini"])
    prepared = names["pgbouncer_prepared_statements"]
    assert "max_prepared_statements = ${var.pgbouncer_max_prepared_statements}" in prepared


def test_no_password_reaches_a_plain_environment_variable():
    names = locals_of(ECS)
    plain = {
        **names["base_environment"],
        **names["web_environment"],
        **names["pgbouncer_environment"],
        **names["pgbouncer_environment_values"],
        **names["cell_tenant_database_url"],
        **names["cells_file_environment"],
        **(named(ECS, "variable")["environment"].get("default") or {}),
    }
    for key, value in plain.items():
        assert not re.search(r"PASSWORD|SECRET|TOKEN", key), key
        assert not re.search(r"password|://[^/\s]*@", str(value), re.IGNORECASE), (key, value)
    assert "password" not in heredoc(names["pgbouncer_ini"]).lower()
    # The pgbouncer_auth password reaches the sidecar alone, as a Secrets Manager secret, and lands
    # in an owner-only file in its /tmp; the app containers never get it.
    sidecar = names["pgbouncer_container"]
    secret = {"name": "PGBOUNCER_AUTH_PASSWORD", "valueFrom": "${var.pgbouncer_auth_secret_arn}"}
    assert sidecar["secrets"] == [secret]
    start = heredoc(names["pgbouncer_start"])
    assert "umask 077" in start and "unset PGBOUNCER_AUTH_PASSWORD" in start
    assert "PGBOUNCER_AUTH_PASSWORD" not in app_definition()
    policy = str(resource(ECS, "aws_iam_role_policy", "execution_secrets")["policy"])
    assert "var.pgbouncer_auth_secret_arn" in policy  # ECS may read it to start the sidecar
    assert "PGBOUNCER_AUTH_PASSWORD" not in named(MODULES / "secrets", "variable")["names"]["default"]


def test_staging_wires_the_sidecar_to_its_database_and_its_own_secret():
    modules = {name: body for entry in parse(STAGING / "main.tf")["module"] for name, body in entry.items()}
    ecs = modules["ecs"]
    assert ecs["database_host"] == "${module.rds.address}"
    assert ecs["database_port"] == "${module.rds.port}"
    assert ecs["database_name"] == "${module.rds.database_name}"
    # The app's secrets and, for the web tier serving every cell, each cell's own.
    cells = ", ".join(f"module.cell_{name}.secret_arns" for name in ("eu", "us"))
    assert ecs["secret_arns"] == f"${{merge(module.secrets.arns, {cells})}}"
    # A secrets module of its own, so the app containers (module.secrets.arns) never receive it.
    secret = next(name for name, body in modules.items() if body.get("names") == ["PGBOUNCER_AUTH_PASSWORD"])
    assert secret != "secrets"
    assert ecs["pgbouncer_auth_secret_arn"] == f'${{module.{secret}.arns["PGBOUNCER_AUTH_PASSWORD"]}}'


# --- Cells: the directory and the web tier at home, a cell per region (docs/operations.md, "Cells") ---

CELL = MODULES / "cell"
CELL_NAMES = ("eu", "us")


def module_calls(folder: Path) -> dict[str, dict[str, Any]]:
    """The module blocks of a folder's .tf files by name."""
    return {name: body for _, name, body in _module_blocks(folder)}


def _module_blocks(folder: Path) -> Iterator[tuple[Path, str, dict[str, Any]]]:
    for path in sorted(folder.glob("*.tf")):
        for entry in parse(path).get("module", []):
            for name, body in entry.items():
                yield path, name, body


def resource_instances(folder: Path, address: str = "") -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(address, type, body) of every resource block in a root folder and the modules it calls, as
    ``terraform plan`` would name them (one instance per module call; counts are not expanded)."""
    for type_, name, body in blocks(folder, "resource"):
        yield f"{address}{type_}.{name}", type_, body
    for _, name, call in _module_blocks(folder):
        yield from resource_instances((folder / call["source"]).resolve(), f"{address}module.{name}.")


def addresses(type_: str) -> list[str]:
    return sorted(address for address, found, _ in resource_instances(STAGING) if found == type_)


def test_the_directory_database_and_each_cells_database_are_separate_instances():
    assert addresses("aws_db_instance") == [
        "module.cell_eu.module.rds.aws_db_instance.this",
        "module.cell_us.module.rds.aws_db_instance.this",
        "module.rds.aws_db_instance.this",  # the directory's, at home
    ]
    # The web tier's own database (the directory) is the home one; each cell's worker gets its cell's.
    assert module_calls(STAGING)["ecs"]["database_host"] == "${module.rds.address}"
    worker = module_calls(CELL)["worker"]
    assert worker["database_host"] == "${module.rds.address}"
    assert module_calls(CELL)["rds"]["source"] == "../rds"


@pytest.mark.parametrize(
    ("type_", "module"),
    [
        ("aws_elasticache_replication_group", "elasticache"),
        ("aws_kms_key", "kms_data"),
        ("aws_s3_bucket_versioning", "s3_exports"),  # one per export bucket (access-log buckets have none)
        ("aws_ecs_service", "worker"),
        ("aws_vpc", "network"),
    ],
)
def test_every_cell_has_its_own_store_key_worker_and_network(type_, module):
    for cell in CELL_NAMES:
        prefix = f"module.cell_{cell}.module.{module}."
        assert any(address.startswith(prefix) for address in addresses(type_)), (cell, type_)
    # Every store of the cell is encrypted with the cell's own key, not the home one.
    calls = module_calls(CELL)
    for store in ("rds", "elasticache", "s3_exports", "secrets", "pgbouncer_secret"):
        assert calls[store]["kms_key_arn"] == "${module.kms_data.key_arn}", store
    assert calls["worker"]["data_kms_key_arn"] == "${module.kms_data.key_arn}"


def test_each_cell_is_in_its_own_region_through_its_own_provider():
    environment = module_calls(STAGING)
    providers = {
        entry["aws"]["alias"]: entry["aws"]["region"]
        for path in STAGING.glob("*.tf")
        for entry in parse(path).get("provider", [])
        if "alias" in entry["aws"]
    }
    cells = named(STAGING, "variable")["cells"]["default"]
    assert set(cells) == set(CELL_NAMES)
    assert len({cells[name]["region"] for name in CELL_NAMES}) == len(CELL_NAMES)
    cidrs = [cells[name]["cidr_block"] for name in CELL_NAMES]
    assert len(set(cidrs)) == len(cidrs) and "10.40.0.0/16" not in cidrs  # peered: no overlap with home
    for name in CELL_NAMES:
        call = environment[f"cell_{name}"]
        assert call["source"] == "../../modules/cell"
        assert call["cell"] == name
        assert providers[name] == f'${{var.cells["{name}"].region}}'
        assert call["providers"]["aws"] == f"${{aws.{name}}}"
        assert call["region"] == f'${{var.cells["{name}"].region}}'
        assert call["exports_bucket_name"] == f"${{var.exports_bucket_name}}-{name}"
    # The peering is requested at home and accepted in the cell's region.
    peering = resource(CELL, "aws_vpc_peering_connection", "home")
    assert peering["provider"] == "${aws.home}" and peering["peer_region"] == "${var.region}"
    assert "provider" not in resource(CELL, "aws_vpc_peering_connection_accepter", "home")
    home_route = resource(CELL, "aws_route", "home_to_cell")
    assert home_route["provider"] == "${aws.home}"
    assert home_route["destination_cidr_block"] == "${var.cidr_block}"
    cell_route = resource(CELL, "aws_route", "cell_to_home")
    assert cell_route["destination_cidr_block"] == "${var.home.vpc_cidr_block}"


def test_the_worker_of_each_cell_runs_saas_worker_with_its_cell():
    from saas.cli import worker_command

    assert "--cell" in {opt for param in worker_command.params for opt in param.opts}
    ecs = locals_of(ECS)
    assert ecs["worker_command"] == WORKER_COMMAND
    # A cell's region runs the worker alone: no web service, load balancer or migrate task there.
    only_worker = 'if var.web_enabled || role == "worker"}}'
    assert ecs["enabled_tasks"] == "${{for role, task in local.tasks : role => task " + only_worker
    assert resource(ECS, "aws_lb")["count"] == "${var.web_enabled ? 1 : 0}"
    assert resource(ECS, "aws_wafv2_web_acl")["count"] == "${var.web_enabled ? 1 : 0}"
    worker = module_calls(CELL)["worker"]
    assert worker["source"] == "../ecs"
    assert (worker["cell"], worker["web_enabled"]) == ("${var.cell}", False)
    # So the eu cell's worker runs `saas worker --cell eu`, the us cell's `saas worker --cell us`,
    # and the home one plain `saas worker` (the default cell, with the scheduler).
    assert {module_calls(STAGING)[f"cell_{name}"]["cell"] for name in CELL_NAMES} == set(CELL_NAMES)
    assert "cell" not in module_calls(STAGING)["ecs"]
    assert named(ECS, "variable")["cell"]["default"] == "default"
    # The worker's sidecar serves its cell's database, so its tenants log in through it.
    assert "local.cell_pgbouncer_environment" in ecs["tasks"]["worker"]["environment"]
    (key,) = ecs["cell_tenant_database_url"]
    assert key == "CELL_${upper(var.cell)}_TENANT_DATABASE_URL"


def test_the_cells_file_entry_is_one_the_app_reads_and_holds_no_secret(tmp_path):
    entry = named(CELL, "output")["cells_file_entry"]["value"]
    assert "password" not in str(entry).lower() and not re.search(r"://[^/@\s]*:[^/@\s]*@", str(entry))

    # Fill in the Terraform references and let the app read it, its URLs completed from the environment.
    def fill(reference: re.Match) -> str:
        return "5432" if reference[0].endswith("port}") else "x"

    resolved = {key: re.sub(r"\$\{[^}]*\}", fill, value) for key, value in entry.items()}
    toml = "[cells.eu]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in resolved.items())
    (tmp_path / "cells.toml").write_text(toml)
    environ = {
        "CELL_EU_DATABASE_URL": "postgresql://saas:pw@db.eu/saas",
        "CELL_EU_REDIS_URL": "rediss://:pw@r:6379/0",
    }
    (cell,) = read_cells_file(tmp_path / "cells.toml", environ)
    assert (cell.name, cell.s3_bucket, cell.database_url) == ("eu", "x", environ["CELL_EU_DATABASE_URL"])
    assert cell.redis_url == environ["CELL_EU_REDIS_URL"]
    # A file that carried the password would be refused: the entry's URLs must stay password-less.
    (tmp_path / "bad.toml").write_text(toml.replace("postgresql://saas@", "postgresql://saas:pw@"))
    with pytest.raises(CellConfigError):
        read_cells_file(tmp_path / "bad.toml", {})


def test_cell_secrets_have_the_names_the_app_reads_and_reach_web_and_worker():
    calls = module_calls(CELL)
    assert locals_of(CELL)["env_prefix"] == "CELL_${upper(var.cell)}_"
    assert calls["secrets"]["names"] == ["${local.env_prefix}DATABASE_URL", "${local.env_prefix}REDIS_URL"]
    assert calls["worker"]["secret_arns"] == "${merge(var.shared_secret_arns, module.secrets.arns)}"
    assert calls["worker"]["cells_file"] == "${var.cells_file}"
    home = module_calls(STAGING)["ecs"]
    assert home["cells_file"] == "${local.cells_file}"
    for name in CELL_NAMES:
        assert module_calls(STAGING)[f"cell_{name}"]["cells_file"] == "${local.cells_file}"
        assert f"${{module.cell_{name}.bucket_arn}}" in home["extra_bucket_arns"]
        assert f"${{module.cell_{name}.data_kms_key_arn}}" in home["extra_kms_key_arns"]
    # A cell's worker gets the directory's secrets but not the Stripe keys (billing runs at home).
    assert 'if !startswith(name, "STRIPE_")' in locals_of(STAGING)["shared_secret_arns"]
    assert module_calls(STAGING)["cell_eu"]["shared_secret_arns"] == "${local.shared_secret_arns}"
    cells_file = locals_of(STAGING)["cells_file"]
    assert "[cells.default]" in cells_file and "signup = false" in cells_file  # no tenants in the directory


def test_cell_stores_admit_only_the_cell_worker_and_the_home_network():
    calls = module_calls(CELL)
    for store in ("rds", "elasticache"):
        assert calls[store]["client_security_group_ids"] == ["${module.worker.tasks_security_group_id}"]
        assert calls[store]["client_cidr_blocks"] == ["${var.home.vpc_cidr_block}"]
    for folder in (MODULES / "rds", MODULES / "elasticache"):
        rule = resource(folder, "aws_vpc_security_group_ingress_rule", "from_client_networks")
        assert rule["cidr_ipv4"] == "${each.value}" and rule["for_each"] == "${toset(var.client_cidr_blocks)}"
    egress = resource(ECS, "aws_vpc_security_group_egress_rule", "tasks_to_peers")
    assert "var.peer_cidr_blocks" in egress["for_each"] and "[5432, 6379]" in egress["for_each"]
