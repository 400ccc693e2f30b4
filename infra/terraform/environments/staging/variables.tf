variable "region" {
  description = "AWS region of the staging environment."
  type        = string
  default     = "eu-central-1"
}

variable "availability_zones" {
  description = "Zones of the staging VPC (two: RDS multi-AZ and ElastiCache failover need them)."
  type        = list(string)
  default     = ["eu-central-1a", "eu-central-1b"]
}

variable "image" {
  description = "Image built from the Dockerfile, by digest: <account>.dkr.ecr.<region>.amazonaws.com/saas@sha256:..."
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate for the staging host name (e.g. staging.crm.example.com)."
  type        = string
}

variable "mail_domain" {
  description = "Domain staging sends mail from (a subdomain of the product's, e.g. staging-mail.example.com)."
  type        = string
}

variable "exports_bucket_name" {
  description = "Globally unique name of the staging export bucket."
  type        = string
}

variable "access_log_bucket_name" {
  description = "Globally unique name of the staging access-log bucket."
  type        = string
}

variable "pgbouncer_image" {
  description = "PgBouncer 1.21+ image of the tasks' sidecar; pin it by digest (edoburu/pgbouncer:v1.24.1-p1@sha256:..., or its ECR mirror)."
  type        = string
  default     = "edoburu/pgbouncer:v1.24.1-p1"
}

variable "database_ca_bundle" {
  description = "RDS CA certificates (PEM) the PgBouncer sidecar verifies PostgreSQL with: https://truststore.pki.rds.amazonaws.com/eu-central-1/eu-central-1-bundle.pem."
  type        = string
}
