output "cells_file_entry" {
  description = "The cell's table of the app's CELLS_FILE: no secrets (the URLs carry no password; CELL_<NAME>_* secrets override them)."
  value = {
    region       = var.region
    label        = var.label
    database_url = "postgresql://saas@${module.rds.address}:${module.rds.port}/${module.rds.database_name}?sslmode=verify-full&sslrootcert=/etc/ssl/certs/ca-certificates.crt"
    redis_url    = "rediss://${module.elasticache.primary_endpoint}:${module.elasticache.port}/0"
    s3_bucket    = module.s3_exports.bucket_id
    s3_region    = var.region
  }
}

output "secret_arns" {
  description = "The cell's secrets by environment variable name (CELL_<NAME>_DATABASE_URL, CELL_<NAME>_REDIS_URL), for every app container."
  value       = module.secrets.arns
}

output "pgbouncer_auth_secret_arn" {
  description = "Secret with the generated pgbouncer_auth password of the cell's database (docs/operations.md)."
  value       = module.pgbouncer_secret.arns["PGBOUNCER_AUTH_PASSWORD"]
}

output "database_address" {
  description = "Host of the cell's PostgreSQL (tenant roles and schemas of the cell)."
  value       = module.rds.address
}

output "database_master_secret_arn" {
  description = "Secret with the cell database's generated master credentials (used once, to create the app's user)."
  value       = module.rds.master_user_secret_arn
}

output "redis_endpoint" {
  description = "Primary endpoint of the cell's Redis (its tenants' queues)."
  value       = module.elasticache.primary_endpoint
}

output "bucket_arn" {
  description = "ARN of the cell's bucket, for the home web tier's task role."
  value       = module.s3_exports.bucket_arn
}

output "data_kms_key_arn" {
  description = "The cell's data key (bucket, secrets), for the home web tier's roles."
  value       = module.kms_data.key_arn
}

output "vpc_cidr_block" {
  description = "Address range of the cell's VPC, admitted by the directory's PostgreSQL and Redis."
  value       = module.network.vpc_cidr_block
}

output "worker_command" {
  description = "The command of the cell's worker (saas worker --cell NAME)."
  value       = module.worker.worker_command
}

output "cluster_name" {
  description = "ECS cluster of the cell's worker."
  value       = module.worker.cluster_name
}

output "ses_dkim_tokens" {
  description = "DKIM CNAMEs to publish for the mail domain, for SES in the cell's region."
  value       = module.ses.dkim_tokens
}
