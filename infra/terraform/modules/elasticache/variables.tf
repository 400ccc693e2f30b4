variable "name" {
  description = "Replication group ID and prefix of its companions."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the cache's security group."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the cache subnet group."
  type        = list(string)
}

variable "client_security_group_ids" {
  description = "Security groups (the ECS tasks') allowed to connect on 6379."
  type        = list(string)
}

variable "client_cidr_blocks" {
  description = "Address ranges of peered VPCs (the directory's and the cells' tasks) allowed to connect on 6379."
  type        = list(string)
  default     = []
}

variable "kms_key_arn" {
  description = "KMS key for encryption at rest."
  type        = string
}

variable "auth_token" {
  description = "Redis AUTH password (16-128 printable characters); clients use rediss://:TOKEN@host:6379/0."
  type        = string
  sensitive   = true
}

variable "engine_version" {
  description = "Redis engine version."
  type        = string
  default     = "7.1"
}

variable "node_type" {
  description = "Cache node type."
  type        = string
  default     = "cache.t4g.small"
}

variable "replicas" {
  description = "Replicas besides the primary (at least one: failover needs a standby in another zone)."
  type        = number
  default     = 1
  validation {
    condition     = var.replicas >= 1 && var.replicas <= 5
    error_message = "Keep 1-5 replicas."
  }
}

variable "snapshot_retention_days" {
  description = "Days to keep daily snapshots (queued jobs survive a restore)."
  type        = number
  default     = 7
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
