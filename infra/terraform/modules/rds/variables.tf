variable "name" {
  description = "Identifier of the DB instance and prefix of its companions."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the database's security group."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets, in at least two zones, for the DB subnet group."
  type        = list(string)
}

variable "client_security_group_ids" {
  description = "Security groups (the ECS tasks') allowed to connect on 5432."
  type        = list(string)
}

variable "client_cidr_blocks" {
  description = "Address ranges of peered VPCs (the directory's and the cells' tasks) allowed to connect on 5432."
  type        = list(string)
  default     = []
}

variable "kms_key_arn" {
  description = "KMS key for storage, Performance Insights and the master password secret."
  type        = string
}

variable "major_version" {
  description = "PostgreSQL major version; selects the parameter group family."
  type        = number
  default     = 16
}

variable "engine_version" {
  description = "PostgreSQL version; a major version lets RDS apply minor upgrades."
  type        = string
  default     = "16"
}

variable "instance_class" {
  description = "DB instance class."
  type        = string
  default     = "db.t4g.medium"
}

variable "database_name" {
  description = "Database the application uses (DATABASE_URL's path)."
  type        = string
  default     = "saas"
}

variable "master_username" {
  description = "Master user name; the application connects as its own user with CREATEROLE (docs/operations.md)."
  type        = string
  default     = "saas_admin"
}

variable "allocated_storage_gb" {
  description = "Initial storage in GiB."
  type        = number
  default     = 50
}

variable "max_allocated_storage_gb" {
  description = "Ceiling for storage autoscaling in GiB."
  type        = number
  default     = 500
}

variable "multi_az" {
  description = "Keep a synchronous standby in a second zone (automatic failover)."
  type        = bool
  default     = true
}

variable "backup_retention_days" {
  description = "Days of automated backups and point-in-time recovery (1-35)."
  type        = number
  default     = 14
  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35
    error_message = "Backups must be kept 1-35 days."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the instance until this is turned off."
  type        = bool
  default     = true
}

variable "log_min_duration_statement_ms" {
  description = "Log statements slower than this many milliseconds."
  type        = number
  default     = 500
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
