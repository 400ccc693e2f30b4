# The application on ECS Fargate, from the one image the Dockerfile builds:
#   web     gunicorn wsgi:app -c gunicorn.conf.py, behind the ALB (alb.tf)
#   worker  saas worker (RQ with its scheduler)
#   migrate saas db upgrade && saas tenants migrate, run once per release (docs/operations.md)
# A cell's region (web_enabled = false, cell = "<name>") runs the worker of that cell alone: no load
# balancer, no web service, no migrate task (the home region's migrate walks every cell).
# All three share one container definition shape; only command, size and port differ.
# web and worker also run PgBouncer as a sidecar (below): tenant connections go to it on the task's
# loopback; migrate connects to PostgreSQL directly.

data "aws_partition" "current" {}

locals {
  # The same commands as the Dockerfile's CMD and the README's Production section. The default
  # cell's worker also starts the scheduler; a cell's worker (--cell) serves its own queues only.
  web_command     = ["gunicorn", "wsgi:app", "-c", "gunicorn.conf.py"]
  worker_command  = concat(["saas", "worker"], var.cell == "default" ? [] : ["--cell", var.cell])
  migrate_command = ["sh", "-c", "saas db upgrade && saas tenants migrate --jobs ${var.migrate_jobs}"]

  base_environment = {
    SAAS_ENV                 = "production"
    SESSION_COOKIE_SECURE    = "true"
    DB_POOL_SIZE             = tostring(var.db_pool_size)
    S3_BUCKET                = var.exports_bucket_name # archives go under exports/ (the app's fixed prefix)
    S3_SSE                   = "aws:kms"
    EXPORT_ROLE_PRINCIPAL    = aws_iam_role.task.arn # what customers' export roles trust
    SES_CONFIGURATION_SET    = var.ses_configuration_set_name
    AWS_REGION               = var.region
    AWS_DEFAULT_REGION       = var.region
    SAAS_INSTANCE_DIR        = "/tmp/instance"
    PROMETHEUS_MULTIPROC_DIR = "/tmp/prometheus"
  }
  # The cells file (saas/cells.py) holds no secrets (the app refuses URLs with a password in it); it
  # reaches the container as a variable and is written to the writable /tmp before the command runs.
  cells_file_environment = { CELLS_FILE = "/tmp/cells.toml", CELLS_TOML = var.cells_file }
  cells_environment      = var.cells_file == "" ? {} : local.cells_file_environment
  cells_file_wrapper     = ["sh", "-c", "umask 077 && printf '%s\\n' \"$CELLS_TOML\" > \"$CELLS_FILE\" && exec \"$@\"", "with-cells-file"]
  web_environment = {
    PORT             = tostring(var.container_port)
    WEB_CONCURRENCY  = tostring(var.web.processes)
    GUNICORN_THREADS = tostring(var.web.threads)
    # Only the ALB reaches the tasks (security groups), so its X-Forwarded-* headers are trusted.
    FORWARDED_ALLOW_IPS = "*"
    # One proxy (the ALB) in front: the app takes the client address and scheme from its entries.
    TRUSTED_PROXY_HOPS = "1"
  }

  # Tenant connections of web and worker go through the task's own PgBouncer (docs/operations.md,
  # "PgBouncer in transaction mode"). No user or password in the URL: each tenant logs in as its role.
  # PgBouncer 1.21+ keeps protocol-level prepared statements working in transaction mode
  # (max_prepared_statements), so they stay on; with an older pgbouncer_image set
  # pgbouncer_max_prepared_statements = 0, which turns them off in the app too.
  pgbouncer_environment = {
    TENANT_DATABASE_URL           = "postgresql://127.0.0.1:${local.pgbouncer_port}/${var.database_name}"
    TENANT_DB_PREPARED_STATEMENTS = var.pgbouncer_max_prepared_statements > 0 ? "1" : "0"
  }
  # A cell's worker: the sidecar serves that cell's database, so its tenants log in through it.
  cell_tenant_database_url   = { "CELL_${upper(var.cell)}_TENANT_DATABASE_URL" = local.pgbouncer_environment.TENANT_DATABASE_URL }
  cell_pgbouncer_environment = var.cell == "default" ? {} : local.cell_tenant_database_url

  tasks = {
    web = {
      command      = local.web_command
      cpu          = var.web.cpu
      memory       = var.web.memory
      environment  = merge(local.base_environment, local.cells_environment, local.web_environment, local.pgbouncer_environment, var.environment)
      port         = var.container_port
      pgbouncer    = true
      stop_timeout = 30 # > gunicorn's graceful_timeout (25 s): requests in flight finish
      health_check = {
        command     = ["CMD", "python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:${var.container_port}/healthz', timeout=3)"]
        interval    = 15
        timeout     = 5
        retries     = 3
        startPeriod = 20
      }
    }
    worker = {
      command      = local.worker_command
      cpu          = var.worker.cpu
      memory       = var.worker.memory
      environment  = merge(local.base_environment, local.cells_environment, local.pgbouncer_environment, local.cell_pgbouncer_environment, var.environment)
      port         = null
      pgbouncer    = true
      stop_timeout = 120 # RQ's warm shutdown lets the running job finish
      health_check = null
    }
    migrate = {
      command      = local.migrate_command
      cpu          = var.migrate.cpu
      memory       = var.migrate.memory
      environment  = merge(local.base_environment, local.cells_environment, var.environment)
      port         = null
      pgbouncer    = false # migrations (long DDL) go directly to PostgreSQL
      stop_timeout = 120
      health_check = null
    }
  }

  # The tasks this region runs: all three at home, the worker alone in a cell's region.
  enabled_tasks = { for role, task in local.tasks : role => task if var.web_enabled || role == "worker" }
  service_sizes = { for role, size in { web = var.web, worker = var.worker } : role => size if var.web_enabled || role == "worker" }

  secrets = [for name in sort(keys(var.secret_arns)) : { name = name, valueFrom = var.secret_arns[name] }]

  # --- PgBouncer sidecar of web and worker ---
  # Listens on the task's loopback (awsvpc: the containers of a task share it), so only the task's
  # own app reaches it; the tasks' security group opens nothing new. Transaction pooling, a pool per
  # (database, tenant role); PgBouncer learns each tenant role's SCRAM verifier with auth_query
  # (logged in as pgbouncer_auth) and logs in to PostgreSQL with the client's SCRAM keys, so it never
  # holds a tenant's password. The one-time SQL (schema pgbouncer, get_auth, role pgbouncer_auth) is
  # in docs/operations.md. Server connections speak TLS (RDS forces it) and verify the host name.
  pgbouncer_port = 6432
  # Any non-root uid works (PgBouncer refuses root); 70 is the postgres user of Alpine-based images.
  pgbouncer_user    = "70:70"
  pgbouncer_ca_file = var.database_ca_bundle == "" ? "/etc/ssl/certs/ca-certificates.crt" : "/tmp/server-ca.pem"
  # PgBouncer before 1.21 refuses to start on this setting: left out when it is 0.
  pgbouncer_prepared_statements = var.pgbouncer_max_prepared_statements > 0 ? "max_prepared_statements = ${var.pgbouncer_max_prepared_statements}" : ""
  # The whole configuration except the pgbouncer_auth password, which reaches the container as a
  # secret and is written to /tmp/userlist.txt at start (local.pgbouncer_start).
  pgbouncer_ini = <<-EOT
    [databases]
    ${var.database_name} = host=${var.database_host} port=${var.database_port} dbname=${var.database_name} auth_user=pgbouncer_auth

    [pgbouncer]
    listen_addr = 127.0.0.1
    listen_port = ${local.pgbouncer_port}
    unix_socket_dir =
    pool_mode = transaction
    auth_type = scram-sha-256
    auth_file = /tmp/userlist.txt
    auth_query = SELECT usename, passwd FROM pgbouncer.get_auth($1)
    ${local.pgbouncer_prepared_statements}
    default_pool_size = ${var.pgbouncer_default_pool_size}
    max_db_connections = ${var.pgbouncer_max_db_connections}
    max_client_conn = ${var.pgbouncer_max_client_conn}
    server_idle_timeout = 300
    server_tls_sslmode = verify-full
    server_tls_ca_file = ${local.pgbouncer_ca_file}
    logfile =
    pidfile =
  EOT
  # The root filesystem is read-only: write the configuration into the sidecar's own /tmp volume
  # (owner-only files), drop the password from the environment, then become PgBouncer.
  pgbouncer_start = <<-EOT
    set -eu
    umask 077
    printf '%s\n' "$PGBOUNCER_INI" > /tmp/pgbouncer.ini
    printf '"pgbouncer_auth" "%s"\n' "$(printf '%s' "$PGBOUNCER_AUTH_PASSWORD" | sed 's/"/""/g')" > /tmp/userlist.txt
    if [ -n "$${DATABASE_CA_BUNDLE:-}" ]; then printf '%s\n' "$DATABASE_CA_BUNDLE" > /tmp/server-ca.pem; fi
    unset PGBOUNCER_AUTH_PASSWORD PGBOUNCER_INI DATABASE_CA_BUNDLE
    exec pgbouncer /tmp/pgbouncer.ini
  EOT
  # Plain settings of the sidecar (no secrets; empty values are left out).
  pgbouncer_environment_values = {
    PGBOUNCER_INI      = local.pgbouncer_ini
    DATABASE_CA_BUNDLE = var.database_ca_bundle
  }

  # Fargate creates a bind-mount volume owned by root, mode 0755; this one-shot container hands the
  # sidecar's scratch volume to the sidecar's uid, then exits. It holds no secrets and opens nothing.
  pgbouncer_init_container = {
    name                   = "pgbouncer-init"
    image                  = var.pgbouncer_image
    essential              = false
    entryPoint             = ["/bin/sh", "-c"]
    command                = ["chmod 0700 /tmp && chown ${local.pgbouncer_user} /tmp"]
    user                   = "0:0" # chown needs root; the long-running sidecar does not run as root
    readonlyRootFilesystem = true
    privileged             = false
    environment            = []
    secrets                = []
    mountPoints            = [{ sourceVolume = "pgbouncer-tmp", containerPath = "/tmp", readOnly = false }]
  }

  pgbouncer_container = {
    name                   = "pgbouncer"
    image                  = var.pgbouncer_image
    essential              = true # without it tenant requests fail: replace the task
    entryPoint             = ["/bin/sh", "-c"]
    command                = [local.pgbouncer_start]
    user                   = local.pgbouncer_user
    readonlyRootFilesystem = true
    privileged             = false
    environment            = [for key in sort(keys(local.pgbouncer_environment_values)) : { name = key, value = local.pgbouncer_environment_values[key] } if local.pgbouncer_environment_values[key] != ""]
    secrets                = [{ name = "PGBOUNCER_AUTH_PASSWORD", valueFrom = var.pgbouncer_auth_secret_arn }]
    mountPoints            = [{ sourceVolume = "pgbouncer-tmp", containerPath = "/tmp", readOnly = false }]
    portMappings           = [] # loopback only: nothing outside the task connects to it
    stopTimeout            = 30 # stops after the app container (dependsOn), which drains first
    linuxParameters        = { initProcessEnabled = true, capabilities = { drop = ["ALL"] } }
    dependsOn              = [{ containerName = "pgbouncer-init", condition = "SUCCESS" }]
    # Answers without asking PostgreSQL (an unknown user of the admin console gets a refusal, which
    # counts as up): a database outage must not make ECS replace every task.
    healthCheck = {
      command     = ["CMD", "pg_isready", "-q", "-h", "127.0.0.1", "-p", tostring(local.pgbouncer_port), "-d", "pgbouncer", "-U", "healthcheck"]
      interval    = 15
      timeout     = 5
      retries     = 3
      startPeriod = 10
    }
  }
}

resource "aws_ecs_cluster" "this" {
  name = var.name
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
  configuration {
    execute_command_configuration {
      kms_key_id = var.logs_kms_key_arn
      logging    = "OVERRIDE"
      log_configuration {
        cloud_watch_encryption_enabled = true
        cloud_watch_log_group_name     = var.log_group_names["ecs_exec"]
      }
    }
  }
  tags = var.tags
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]
  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}

resource "aws_ecs_task_definition" "this" {
  for_each                 = local.enabled_tasks
  family                   = "${var.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = each.value.cpu
  memory                   = each.value.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }
  # The root filesystem is read-only; /tmp is the one writable place (instance dir, metrics files).
  volume {
    name = "tmp"
  }
  # The PgBouncer sidecar's own /tmp (its configuration and the pgbouncer_auth password file).
  dynamic "volume" {
    for_each = each.value.pgbouncer ? ["pgbouncer-tmp"] : []
    content {
      name = volume.value
    }
  }
  # The app container, then (web and worker) the PgBouncer sidecar and its one-shot init container.
  container_definitions = jsonencode(slice([
    merge(
      {
        name                   = each.key
        image                  = var.image
        essential              = true
        command                = var.cells_file == "" ? each.value.command : concat(local.cells_file_wrapper, each.value.command)
        user                   = "10001:10001"
        readonlyRootFilesystem = true
        privileged             = false
        environment            = [for key in sort(keys(each.value.environment)) : { name = key, value = each.value.environment[key] }]
        secrets                = local.secrets
        mountPoints            = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
        stopTimeout            = each.value.stop_timeout
        linuxParameters        = { initProcessEnabled = true }
        logConfiguration = {
          logDriver = "awslogs"
          options = {
            awslogs-group         = var.log_group_names[each.key == "web" ? "web" : "worker"]
            awslogs-region        = var.region
            awslogs-stream-prefix = each.key
          }
        }
        portMappings = each.value.port == null ? [] : [{ containerPort = each.value.port, protocol = "tcp" }]
      },
      each.value.health_check == null ? {} : { healthCheck = each.value.health_check },
      # Start once PgBouncer answers on loopback; stop before it (ECS stops dependents first).
      each.value.pgbouncer ? { dependsOn = [{ containerName = "pgbouncer", condition = "HEALTHY" }] } : {},
    ),
    merge(local.pgbouncer_init_container, { logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = var.log_group_names[each.key == "web" ? "web" : "worker"]
        awslogs-region        = var.region
        awslogs-stream-prefix = "${each.key}-pgbouncer-init"
      }
    } }),
    merge(local.pgbouncer_container, { logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = var.log_group_names[each.key == "web" ? "web" : "worker"]
        awslogs-region        = var.region
        awslogs-stream-prefix = "${each.key}-pgbouncer"
      }
    } }),
  ], 0, each.value.pgbouncer ? 3 : 1))
  tags = var.tags
}

resource "aws_ecs_service" "this" {
  for_each                           = local.service_sizes
  name                               = "${var.name}-${each.key}"
  cluster                            = aws_ecs_cluster.this.id
  task_definition                    = aws_ecs_task_definition.this[each.key].arn
  desired_count                      = each.value.desired_count
  launch_type                        = "FARGATE"
  platform_version                   = "LATEST"
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = each.key == "web" ? 30 : null
  enable_ecs_managed_tags            = true
  propagate_tags                     = "SERVICE"
  wait_for_steady_state              = false

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  dynamic "load_balancer" {
    for_each = each.key == "web" ? [1] : []
    content {
      target_group_arn = aws_lb_target_group.web[0].arn
      container_name   = "web"
      container_port   = var.container_port
    }
  }

  # Autoscaling owns the task count after creation.
  lifecycle {
    ignore_changes = [desired_count]
  }
  depends_on = [aws_lb_listener.https]
  tags       = var.tags
}

resource "aws_appautoscaling_target" "this" {
  for_each           = local.service_sizes
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.this[each.key].name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = each.value.min_count
  max_capacity       = each.value.max_count
}

resource "aws_appautoscaling_policy" "cpu" {
  for_each           = aws_appautoscaling_target.this
  name               = "${var.name}-${each.key}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = each.value.service_namespace
  resource_id        = each.value.resource_id
  scalable_dimension = each.value.scalable_dimension
  target_tracking_scaling_policy_configuration {
    target_value       = var.cpu_target_percent
    scale_in_cooldown  = 300
    scale_out_cooldown = 60
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

# Tasks: in from the load balancer only; out to HTTPS (Stripe, SES, AWS APIs), PostgreSQL and
# Redis inside the VPC.
resource "aws_security_group" "tasks" {
  name        = "${var.name}-tasks"
  description = "ECS tasks of ${var.name}"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "tasks_from_alb" {
  count                        = var.web_enabled ? 1 : 0
  security_group_id            = aws_security_group.tasks.id
  description                  = "App port from the load balancer"
  referenced_security_group_id = aws_security_group.alb[0].id
  ip_protocol                  = "tcp"
  from_port                    = var.container_port
  to_port                      = var.container_port
}

resource "aws_vpc_security_group_egress_rule" "tasks_https" {
  security_group_id = aws_security_group.tasks.id
  description       = "HTTPS to Stripe, SES and AWS APIs"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_egress_rule" "tasks_in_vpc" {
  for_each          = { postgres = 5432, redis = 6379 }
  security_group_id = aws_security_group.tasks.id
  description       = "${each.key} inside the VPC"
  cidr_ipv4         = var.vpc_cidr_block
  ip_protocol       = "tcp"
  from_port         = each.value
  to_port           = each.value
}

# The directory and the cells live in peered VPCs of other regions: web and migrate reach every
# cell's PostgreSQL and Redis, a cell's worker reaches the directory and the global Redis.
resource "aws_vpc_security_group_egress_rule" "tasks_to_peers" {
  for_each          = { for pair in setproduct(var.peer_cidr_blocks, [5432, 6379]) : "${pair[0]}:${pair[1]}" => pair }
  security_group_id = aws_security_group.tasks.id
  description       = "${each.value[1] == 5432 ? "postgres" : "redis"} in a peered VPC"
  cidr_ipv4         = each.value[0]
  ip_protocol       = "tcp"
  from_port         = each.value[1]
  to_port           = each.value[1]
}
