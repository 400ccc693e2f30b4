variable "name" {
  description = "Name of the cluster and prefix of every resource (for example saas-staging)."
  type        = string
}

variable "region" {
  description = "AWS region, for the awslogs driver and the SDK's default region."
  type        = string
}

variable "image" {
  description = "Container image built from the repository's Dockerfile, pinned by digest (repo@sha256:...)."
  type        = string
}

variable "cpu_architecture" {
  description = "CPU architecture the image was built for: ARM64 (Graviton, cheaper) or X86_64."
  type        = string
  default     = "ARM64"
}

variable "vpc_id" {
  description = "VPC of the tasks and the load balancer."
  type        = string
}

variable "vpc_cidr_block" {
  description = "Address range of the VPC; tasks may reach PostgreSQL and Redis inside it."
  type        = string
}

variable "public_subnet_ids" {
  description = "Subnets of the load balancer."
  type        = list(string)
}

variable "private_subnet_ids" {
  description = "Subnets of the tasks (no public addresses)."
  type        = list(string)
}

variable "certificate_arn" {
  description = "ACM certificate of the public host name, served by the HTTPS listener."
  type        = string
}

variable "container_port" {
  description = "Port gunicorn listens on inside the web container (PORT)."
  type        = number
  default     = 8000
}

variable "web" {
  description = "Web service size: Fargate cpu/memory, gunicorn processes and threads per task, task counts."
  type = object({
    cpu           = number
    memory        = number
    processes     = number
    threads       = number
    desired_count = number
    min_count     = number
    max_count     = number
  })
  default = { cpu = 1024, memory = 2048, processes = 2, threads = 4, desired_count = 2, min_count = 2, max_count = 10 }
}

variable "worker" {
  description = "Worker service size: Fargate cpu/memory and task counts (each task runs one RQ worker)."
  type = object({
    cpu           = number
    memory        = number
    desired_count = number
    min_count     = number
    max_count     = number
  })
  default = { cpu = 512, memory = 1024, desired_count = 1, min_count = 1, max_count = 6 }
}

variable "migrate" {
  description = "Size of the one-off release task that runs the platform and tenant migrations."
  type = object({
    cpu    = number
    memory = number
  })
  default = { cpu = 1024, memory = 2048 }
}

variable "migrate_jobs" {
  description = "Parallel tenant migrations in the release task (saas tenants migrate --jobs)."
  type        = number
  default     = 4
}

variable "db_pool_size" {
  description = "Connections per process (DB_POOL_SIZE); at least the gunicorn thread count."
  type        = number
  default     = 5
}

variable "cpu_target_percent" {
  description = "Average CPU the services are scaled to hold."
  type        = number
  default     = 60
}

variable "environment" {
  description = "Extra plain environment variables for every container (no secrets here)."
  type        = map(string)
  default     = {}
}

variable "secret_arns" {
  description = "Environment variable name => Secrets Manager secret ARN, injected into every container."
  type        = map(string)
}

variable "pgbouncer_image" {
  description = "PgBouncer 1.21+ image of the web and worker tasks' sidecar (needs /bin/sh and pg_isready). Pin it by digest in real environments (edoburu/pgbouncer:v1.24.1-p1@sha256:...), ideally mirrored into ECR."
  type        = string
  default     = "edoburu/pgbouncer:v1.24.1-p1" # PgBouncer 1.24.1 on Alpine, amd64 and arm64
}

variable "database_host" {
  description = "PostgreSQL host the PgBouncer sidecar connects to (the RDS endpoint address, DATABASE_URL's host)."
  type        = string
}

variable "database_port" {
  description = "PostgreSQL port the PgBouncer sidecar connects to."
  type        = number
  default     = 5432
}

variable "database_name" {
  description = "Database of the app (DATABASE_URL's path); also the database name the sidecar serves."
  type        = string
  default     = "saas"
}

variable "database_ca_bundle" {
  description = "PEM certificates PgBouncer verifies PostgreSQL's TLS certificate with (for RDS the region's bundle from truststore.pki.rds.amazonaws.com); empty: the image's system bundle."
  type        = string
  default     = ""
}

variable "pgbouncer_auth_secret_arn" {
  description = "Secrets Manager secret holding the password of the pgbouncer_auth role (auth_query's login); only the sidecar receives it."
  type        = string
}

variable "pgbouncer_default_pool_size" {
  description = "Server connections per tenant role per task (PgBouncer default_pool_size)."
  type        = number
  default     = 2
}

variable "pgbouncer_max_db_connections" {
  description = "Server connections one task's PgBouncer opens in all; tasks x this must fit PostgreSQL's max_connections."
  type        = number
  default     = 20
}

variable "pgbouncer_max_client_conn" {
  description = "Client connections one task's PgBouncer accepts (the app processes' tenant pools)."
  type        = number
  default     = 500
}

variable "pgbouncer_max_prepared_statements" {
  description = "PgBouncer max_prepared_statements (1.21+); 0 turns prepared statements off in PgBouncer and in the app (TENANT_DB_PREPARED_STATEMENTS=0), as older images need."
  type        = number
  default     = 200
}

variable "data_kms_key_arn" {
  description = "KMS key of the secrets and the exports bucket."
  type        = string
}

variable "logs_kms_key_arn" {
  description = "KMS key of the log groups, also used for ECS Exec session encryption."
  type        = string
}

variable "log_group_names" {
  description = "Log group names for keys web, worker and ecs_exec."
  type        = map(string)
}

variable "waf_log_group_arn" {
  description = "ARN of the aws-waf-logs-* log group that receives WAF logs."
  type        = string
}

variable "exports_bucket_name" {
  description = "Name of the export bucket (S3_BUCKET)."
  type        = string
}

variable "exports_bucket_arn" {
  description = "ARN of the export bucket."
  type        = string
}

variable "exports_prefix" {
  description = "Key prefix the app may write exports under."
  type        = string
  default     = "exports/"
}

variable "ses_identity_arn" {
  description = "SES identity the app may send as."
  type        = string
}

variable "ses_configuration_set_name" {
  description = "SES configuration set the app names on every message."
  type        = string
}

variable "ses_configuration_set_arn" {
  description = "ARN of that configuration set."
  type        = string
}

variable "access_log_bucket" {
  description = "Bucket of the load balancer's access logs."
  type        = string
}

variable "access_log_prefix" {
  description = "Prefix of the load balancer's access logs in that bucket."
  type        = string
  default     = "alb"
}

variable "waf_requests_per_5_minutes" {
  description = "Requests one client address may make in 5 minutes before WAF blocks it."
  type        = number
  default     = 3000
}

variable "deletion_protection" {
  description = "Protect the load balancer from deletion."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "web_enabled" {
  description = "Run the web service (load balancer, WAF) and the migrate task; false in a cell's region, which runs only that cell's worker."
  type        = bool
  default     = true
}

variable "cell" {
  description = "Cell whose queues the worker serves (saas worker --cell NAME); default: the platform's own cell, whose worker also starts the scheduler."
  type        = string
  default     = "default"
  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,29}$", var.cell))
    error_message = "A cell name is 1-30 lowercase letters, digits or _, starting with a letter (saas/cells.py)."
  }
}

variable "cells_file" {
  description = "Content of the app's CELLS_FILE (TOML, no secrets); written to /tmp/cells.toml in every app container. Empty: one cell."
  type        = string
  default     = ""
}

variable "peer_cidr_blocks" {
  description = "Address ranges of peered VPCs (the directory's or the cells') whose PostgreSQL and Redis the tasks may reach."
  type        = list(string)
  default     = []
}

variable "extra_kms_key_arns" {
  description = "Other regions' KMS keys the tasks may use: secrets kept there (execution role) and the cells' buckets (task role)."
  type        = list(string)
  default     = []
}

variable "extra_bucket_arns" {
  description = "The cells' bucket ARNs the app may read and write files and exports in (under exports_prefix and the files prefix)."
  type        = list(string)
  default     = []
}
