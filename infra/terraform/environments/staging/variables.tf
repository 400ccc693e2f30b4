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

variable "cells" {
  description = "The regional cells (cells.tf declares one module and one provider per name: eu and us). database_ca_bundle: that region's RDS CA bundle (PEM), https://truststore.pki.rds.amazonaws.com/<region>/<region>-bundle.pem."
  type = map(object({
    region             = string
    label              = string
    availability_zones = list(string)
    cidr_block         = string
    database_ca_bundle = string
  }))
  default = {
    eu = {
      region             = "eu-central-1"
      label              = "European Union (Frankfurt)"
      availability_zones = ["eu-central-1a", "eu-central-1b"]
      cidr_block         = "10.41.0.0/16"
      database_ca_bundle = ""
    }
    us = {
      region             = "us-east-1"
      label              = "United States (N. Virginia)"
      availability_zones = ["us-east-1a", "us-east-1b"]
      cidr_block         = "10.42.0.0/16"
      database_ca_bundle = ""
    }
  }
  validation {
    condition     = toset(keys(var.cells)) == toset(["eu", "us"])
    error_message = "cells.tf declares the cells eu and us; add a module and a provider there for another."
  }
}
