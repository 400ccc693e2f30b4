"""The Terraform code parses and keeps its security promises (Terraform itself cannot run here).

checkov (``make infra-check``) checks general AWS hygiene; these tests check what this product
promises: encrypted data stores, a private export bucket, TLS at the edge, and containers that run
the same commands as the Dockerfile and the README.
"""

from __future__ import annotations

import re
import runpy
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import pytest
from hcl2 import SerializationOptions

from tests.test_dockerfile import WEB_COMMAND

REPO = Path(__file__).resolve().parents[2]
TERRAFORM = REPO / "infra" / "terraform"
MODULES = TERRAFORM / "modules"
STAGING = TERRAFORM / "environments" / "staging"
TF_FILES = sorted(TERRAFORM.rglob("*.tf"))
MODULE_NAMES = sorted(path.name for path in MODULES.iterdir() if path.is_dir())
REQUIRED_MODULES = {"network", "rds", "elasticache", "s3_exports", "ecs", "ses", "secrets", "logs"}
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
    assert set(MODULE_NAMES) >= REQUIRED_MODULES
    sources = {single_module["source"] for entry in parse(STAGING / "main.tf")["module"]
               for single_module in entry.values()}  # fmt: skip
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
    assert names["worker_command"] == ["saas", "worker"]
    assert names["tasks"]["web"]["command"] == "${local.web_command}"
    assert names["tasks"]["worker"]["command"] == "${local.worker_command}"
    assert "saas tenants migrate --jobs" in names["migrate_command"][-1]
    definition = resource(folder, "aws_ecs_task_definition")["container_definitions"]
    assert "command = each.value.command" in definition
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
    assert ecs["secret_arns"] == "${module.secrets.arns}"
    # A secrets module of its own, so the app containers (module.secrets.arns) never receive it.
    secret = next(name for name, body in modules.items() if body.get("names") == ["PGBOUNCER_AUTH_PASSWORD"])
    assert secret != "secrets"
    assert ecs["pgbouncer_auth_secret_arn"] == f'${{module.{secret}.arns["PGBOUNCER_AUTH_PASSWORD"]}}'
