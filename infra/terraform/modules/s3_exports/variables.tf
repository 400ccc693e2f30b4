variable "bucket_name" {
  description = "Globally unique name of the export bucket (the app's S3_BUCKET)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for SSE-KMS default encryption."
  type        = string
}

variable "access_log_bucket" {
  description = "Bucket that receives this bucket's server access logs."
  type        = string
}

variable "access_log_prefix" {
  description = "Prefix in the access-log bucket (the bucket name is appended)."
  type        = string
  default     = "s3/"
}

variable "exports_prefix" {
  description = "Key prefix under which the app writes export archives; the lifecycle rules apply to it."
  type        = string
  default     = "exports/"
}

variable "infrequent_access_after_days" {
  description = "Days after which archives move to STANDARD_IA (30 at least)."
  type        = number
  default     = 30
}

variable "expire_after_days" {
  description = "Days after which an archive is deleted; longer than a lapsed tenant's grace period."
  type        = number
  default     = 400
}

variable "noncurrent_version_days" {
  description = "Days a replaced or deleted archive version stays recoverable."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
