output "alb_dns_name" {
  description = "Point the staging host name at this (CNAME or Route 53 alias)."
  value       = module.ecs.alb_dns_name
}

output "cluster_name" {
  description = "ECS cluster; `aws ecs run-task` the migrate task definition here at every release."
  value       = module.ecs.cluster_name
}

output "task_definition_arns" {
  description = "Task definitions by role: web, worker, migrate."
  value       = module.ecs.task_definition_arns
}

output "database_address" {
  description = "PostgreSQL host for DATABASE_URL (postgresql://saas:PASSWORD@HOST:5432/saas?sslmode=verify-full)."
  value       = module.rds.address
}

output "database_master_secret_arn" {
  description = "Secret with the generated master credentials (used once, to create the app's user)."
  value       = module.rds.master_user_secret_arn
}

output "redis_endpoint" {
  description = "Primary Redis endpoint (REDIS_URL is already in Secrets Manager)."
  value       = module.elasticache.primary_endpoint
}

output "secret_arns" {
  description = "Secrets by environment variable name; set DATABASE_URL and the Stripe keys after the first apply."
  value       = module.secrets.arns
}

output "exports_bucket" {
  description = "Export bucket name (S3_BUCKET)."
  value       = module.s3_exports.bucket_id
}

output "ses_dkim_tokens" {
  description = "DKIM CNAMEs to publish for the mail domain."
  value       = module.ses.dkim_tokens
}

output "pgbouncer_auth_secret_arn" {
  description = "Secret with the generated pgbouncer_auth password; create the role with it (docs/operations.md)."
  value       = module.pgbouncer_secret.arns["PGBOUNCER_AUTH_PASSWORD"]
}

output "cells_file" {
  description = "The app's CELLS_FILE as every container receives it (TOML, no secrets)."
  value       = local.cells_file
}

output "cells" {
  description = "Per cell: its database (and master secret), Redis, worker cluster, pgbouncer_auth secret and DKIM tokens."
  value = {
    for name, cell in local.cell_modules : name => {
      database_address           = cell.database_address
      database_master_secret_arn = cell.database_master_secret_arn
      redis_endpoint             = cell.redis_endpoint
      cluster_name               = cell.cluster_name
      pgbouncer_auth_secret_arn  = cell.pgbouncer_auth_secret_arn
      secret_arns                = cell.secret_arns
      ses_dkim_tokens            = cell.ses_dkim_tokens
    }
  }
}
