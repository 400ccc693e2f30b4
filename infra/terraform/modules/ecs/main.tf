# The application on ECS Fargate, from the one image the Dockerfile builds:
#   web     gunicorn wsgi:app -c gunicorn.conf.py, behind the ALB (alb.tf)
#   worker  saas worker (RQ with its scheduler)
#   migrate saas db upgrade && saas tenants migrate, run once per release (docs/operations.md)
# All three share one container definition shape; only command, size and port differ.

data "aws_partition" "current" {}

locals {
  # The same commands as the Dockerfile's CMD and the README's Production section.
  web_command     = ["gunicorn", "wsgi:app", "-c", "gunicorn.conf.py"]
  worker_command  = ["saas", "worker"]
  migrate_command = ["sh", "-c", "saas db upgrade && saas tenants migrate --jobs ${var.migrate_jobs}"]

  base_environment = {
    SAAS_ENV                 = "production"
    SESSION_COOKIE_SECURE    = "true"
    DB_POOL_SIZE             = tostring(var.db_pool_size)
    S3_BUCKET                = var.exports_bucket_name # archives go under exports/ (the app's fixed prefix)
    S3_SSE                   = "aws:kms"
    SES_CONFIGURATION_SET    = var.ses_configuration_set_name
    AWS_REGION               = var.region
    AWS_DEFAULT_REGION       = var.region
    SAAS_INSTANCE_DIR        = "/tmp/instance"
    PROMETHEUS_MULTIPROC_DIR = "/tmp/prometheus"
  }
  web_environment = {
    PORT             = tostring(var.container_port)
    WEB_CONCURRENCY  = tostring(var.web.processes)
    GUNICORN_THREADS = tostring(var.web.threads)
    # Only the ALB reaches the tasks (security groups), so its X-Forwarded-* headers are trusted.
    FORWARDED_ALLOW_IPS = "*"
    # One proxy (the ALB) in front: the app takes the client address and scheme from its entries.
    TRUSTED_PROXY_HOPS = "1"
  }

  tasks = {
    web = {
      command      = local.web_command
      cpu          = var.web.cpu
      memory       = var.web.memory
      environment  = merge(local.base_environment, local.web_environment, var.environment)
      port         = var.container_port
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
      environment  = merge(local.base_environment, var.environment)
      port         = null
      stop_timeout = 120 # RQ's warm shutdown lets the running job finish
      health_check = null
    }
    migrate = {
      command      = local.migrate_command
      cpu          = var.migrate.cpu
      memory       = var.migrate.memory
      environment  = merge(local.base_environment, var.environment)
      port         = null
      stop_timeout = 120
      health_check = null
    }
  }

  secrets = [for name in sort(keys(var.secret_arns)) : { name = name, valueFrom = var.secret_arns[name] }]
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
  for_each                 = local.tasks
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
  container_definitions = jsonencode([
    merge(
      {
        name                   = each.key
        image                  = var.image
        essential              = true
        command                = each.value.command
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
    )
  ])
  tags = var.tags
}

resource "aws_ecs_service" "this" {
  for_each                           = { web = var.web, worker = var.worker }
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
      target_group_arn = aws_lb_target_group.web.arn
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
  for_each           = { web = var.web, worker = var.worker }
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
  security_group_id            = aws_security_group.tasks.id
  description                  = "App port from the load balancer"
  referenced_security_group_id = aws_security_group.alb.id
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
