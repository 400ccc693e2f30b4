# The app's secrets in Secrets Manager, encrypted with our key and handed to the tasks by ECS as
# environment variables (never baked into the image or the task definition). Terraform creates the
# containers and, where it knows a value (REDIS_URL from the generated AUTH token, a generated
# SECRET_KEY), its first version; operators set the rest (docs/operations.md). Later changes made by
# operators are not overwritten.

resource "aws_secretsmanager_secret" "this" {
  # checkov:skip=CKV2_AWS_57:These are rotated by a runbook, not a Lambda: Stripe keys are rolled in Stripe's dashboard, SECRET_KEY rotation signs everyone out, DATABASE_URL and PGBOUNCER_AUTH_PASSWORD follow a planned ALTER ROLE password change (docs/operations.md).
  for_each                = toset(var.names)
  name                    = "${var.prefix}/${each.value}"
  description             = "${each.value} for ${var.prefix}"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_in_days
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "initial" {
  for_each      = nonsensitive(toset(keys(var.initial_values)))
  secret_id     = aws_secretsmanager_secret.this[each.value].id
  secret_string = var.initial_values[each.value]
  lifecycle {
    ignore_changes = [secret_string]
  }
}
