# One customer-managed key with yearly rotation. Callers name the AWS services that may use it;
# CloudWatch Logs additionally gets an encryption-context condition, so it can use the key only for
# this account's log groups. The ECS task roles get their use of the key from IAM policies, which
# the account statement below delegates to.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_root = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"
  key_use      = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]

  service_statements = [
    for service in var.service_principals : {
      Sid       = "Use by ${service}"
      Effect    = "Allow"
      Principal = { Service = service }
      Action    = local.key_use
      Resource  = "*"
      Condition = {
        StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id }
      }
    } if !startswith(service, "logs.")
  ]
  logs_statements = [
    for service in var.service_principals : {
      Sid       = "Use by CloudWatch Logs of this account"
      Effect    = "Allow"
      Principal = { Service = service }
      Action    = local.key_use
      Resource  = "*"
      Condition = {
        ArnLike = {
          "kms:EncryptionContext:aws:logs:arn" = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:*"
        }
      }
    } if startswith(service, "logs.")
  ]
}

resource "aws_kms_key" "this" {
  description             = var.description
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = var.deletion_window_in_days
  # In a key policy "*" as the resource means this key itself.
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [{
        Sid       = "Administered by the account"
        Effect    = "Allow"
        Principal = { AWS = local.account_root }
        Action    = "kms:*"
        Resource  = "*"
      }],
      local.service_statements,
      local.logs_statements,
    )
  })
  tags = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}
