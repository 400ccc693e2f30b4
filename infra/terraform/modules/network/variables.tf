variable "name" {
  description = "Name prefix for every resource (for example saas-staging)."
  type        = string
}

variable "region" {
  description = "AWS region of the VPC, for the S3 gateway endpoint's service name."
  type        = string
}

variable "cidr_block" {
  description = "The VPC's address range; split into /20 subnets (needs at least a /16)."
  type        = string
  default     = "10.40.0.0/16"
}

variable "availability_zones" {
  description = "Zones to spread subnets over, e.g. [\"eu-central-1a\", \"eu-central-1b\"] (2 or 3; RDS and ElastiCache need 2)."
  type        = list(string)
  validation {
    condition     = length(var.availability_zones) >= 2 && length(var.availability_zones) <= 3
    error_message = "Name 2 or 3 availability zones."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones (cheaper, but a zone outage cuts egress) instead of one per zone."
  type        = bool
  default     = false
}

variable "flow_log_group_arn" {
  description = "ARN of the KMS-encrypted CloudWatch log group that receives the VPC flow logs."
  type        = string
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
