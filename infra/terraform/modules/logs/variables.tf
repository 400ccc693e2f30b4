variable "groups" {
  description = "Log groups to create: purpose => group name, e.g. { web = \"/saas/staging/web\" }. WAF groups must be named aws-waf-logs-*."
  type        = map(string)
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the log groups (its policy must admit logs.<region>.amazonaws.com)."
  type        = string
}

variable "retention_in_days" {
  description = "Days to keep log events; one year covers audits and incident look-back."
  type        = number
  default     = 365
  validation {
    condition     = contains([365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.retention_in_days)
    error_message = "Keep logs at least a year, in a retention CloudWatch supports (365, 400, 545, 731, ...)."
  }
}

variable "tags" {
  description = "Tags added to every log group."
  type        = map(string)
  default     = {}
}
