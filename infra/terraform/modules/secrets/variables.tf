variable "prefix" {
  description = "Path prefix of the secret names, e.g. saas/staging gives saas/staging/SECRET_KEY."
  type        = string
}

variable "names" {
  description = "Environment variable names to keep as secrets."
  type        = list(string)
  default     = ["SECRET_KEY", "TENANT_DB_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET"]
}

variable "initial_values" {
  description = "First values of secrets Terraform can know (name => value); the others are set by operators."
  type        = map(string)
  default     = {}
  sensitive   = true
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the secrets."
  type        = string
}

variable "recovery_window_in_days" {
  description = "Days a deleted secret can still be restored."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags added to every secret."
  type        = map(string)
  default     = {}
}
