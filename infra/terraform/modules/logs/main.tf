# CloudWatch log groups, all KMS-encrypted with the same retention. Every other module receives its
# group from here, so no log group is ever created unencrypted or kept forever by accident.

resource "aws_cloudwatch_log_group" "this" {
  for_each          = var.groups
  name              = each.value
  retention_in_days = var.retention_in_days
  kms_key_id        = var.kms_key_arn
  tags              = merge(var.tags, { Purpose = each.key })
}
