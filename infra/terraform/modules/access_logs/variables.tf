variable "bucket_name" {
  description = "Globally unique name of the access-log bucket."
  type        = string
}

variable "retention_in_days" {
  description = "Days to keep access logs before they expire."
  type        = number
  default     = 400
}

variable "tags" {
  description = "Tags added to the bucket."
  type        = map(string)
  default     = {}
}
