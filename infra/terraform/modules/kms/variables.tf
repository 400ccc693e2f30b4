variable "name" {
  description = "Alias of the key, without the alias/ prefix (for example saas-staging-data)."
  type        = string
}

variable "description" {
  description = "What the key protects; shown in the KMS console."
  type        = string
}

variable "service_principals" {
  description = "AWS service principals allowed to use the key, e.g. [\"logs.eu-west-1.amazonaws.com\", \"rds.amazonaws.com\"]."
  type        = list(string)
  default     = []
}

variable "deletion_window_in_days" {
  description = "Days a scheduled key deletion can still be cancelled (7-30)."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags added to the key."
  type        = map(string)
  default     = {}
}
