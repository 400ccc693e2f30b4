variable "cell" {
  description = "Name of the cell as the app knows it (CELLS_FILE, tenants.cell, saas worker --cell)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,29}$", var.cell)) && var.cell != "default"
    error_message = "A cell name is 1-30 lowercase letters, digits or _ (saas/cells.py); default is the directory's own."
  }
}

variable "label" {
  description = "What people read as the place their data lives, e.g. European Union (Frankfurt)."
  type        = string
}

variable "name_prefix" {
  description = "Prefix of the environment's resources (saas-staging); the cell's are <prefix>-<cell>."
  type        = string
}

variable "region" {
  description = "AWS region of the cell; the provider passed as aws must be configured for it."
  type        = string
}

variable "availability_zones" {
  description = "Two or three zones of the cell's region (RDS multi-AZ and ElastiCache failover need two)."
  type        = list(string)
}

variable "cidr_block" {
  description = "Address range of the cell's VPC (a /16), distinct from the home VPC's and every other cell's: they are peered."
  type        = string
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones (cheaper; a zone outage cuts the worker's egress)."
  type        = bool
  default     = false
}

variable "home" {
  description = "The home region's network and data key: the web tier and the directory live there."
  type = object({
    vpc_id                  = string
    vpc_cidr_block          = string
    private_route_table_ids = list(string)
    data_kms_key_arn        = string
  })
}

variable "shared_secret_arns" {
  description = "Secrets every app container needs whatever its cell (SECRET_KEY, TENANT_DB_SECRET_KEY, DATABASE_URL of the directory, REDIS_URL...), by environment variable name."
  type        = map(string)
}

variable "cells_file" {
  description = "Content of the app's CELLS_FILE (TOML, no secrets): the same for the web tier and every worker."
  type        = string
}

variable "image" {
  description = "Image built from the Dockerfile, by digest (the home region's ECR repository or its replica here)."
  type        = string
}

variable "pgbouncer_image" {
  description = "PgBouncer 1.21+ image of the worker's sidecar, pinned by digest."
  type        = string
}

variable "database_ca_bundle" {
  description = "RDS CA certificates (PEM) of the cell's region, which the worker's PgBouncer verifies the cell's database with."
  type        = string
}

variable "exports_bucket_name" {
  description = "Globally unique name of the cell's bucket (its tenants' files and export archives)."
  type        = string
}

variable "access_log_bucket_name" {
  description = "Globally unique name of the cell's access-log bucket (server access logs of its bucket)."
  type        = string
}

variable "mail_domain" {
  description = "Domain the cell's worker sends its tenants' mail from; SES identities are regional, so it is verified here too."
  type        = string
}

variable "database" {
  description = "Size and safety of the cell's PostgreSQL (tenant roles and schemas)."
  type = object({
    instance_class        = string
    multi_az              = bool
    backup_retention_days = number
  })
  default = { instance_class = "db.t4g.medium", multi_az = true, backup_retention_days = 14 }
}

variable "redis_node_type" {
  description = "Node type of the cell's Redis (its tenants' job queues)."
  type        = string
  default     = "cache.t4g.small"
}

variable "worker" {
  description = "Size of the cell's worker service: Fargate cpu/memory and task counts."
  type = object({
    cpu           = number
    memory        = number
    desired_count = number
    min_count     = number
    max_count     = number
  })
  default = { cpu = 512, memory = 1024, desired_count = 1, min_count = 1, max_count = 6 }
}

variable "secret_prefix" {
  description = "Path prefix of the environment's secrets (saas/staging); the cell's are <prefix>/<cell>/NAME."
  type        = string
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
