# Two roles, as ECS intends: the execution role lets ECS pull the image, write logs and read the
# secrets into the environment; the task role is what the app itself may do (exports bucket, SES).

locals {
  ecs_tasks_trust = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  # Every bucket the app writes to (its own, and each cell's at home): archives under the exports
  # prefix, record files and mail attachments under files/ (saas/exports/storage.py).
  bucket_arns     = concat([var.exports_bucket_arn], var.extra_bucket_arns)
  object_prefixes = [var.exports_prefix, "files/"]
}

resource "aws_iam_role" "execution" {
  name               = "${var.name}-execution"
  assume_role_policy = local.ecs_tasks_trust
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

resource "aws_iam_role_policy" "execution_secrets" {
  name = "read-app-secrets"
  role = aws_iam_role.execution.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue"]
        Resource = concat(values(var.secret_arns), [var.pgbouncer_auth_secret_arn])
      },
      {
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = concat([var.data_kms_key_arn], var.extra_kms_key_arns)
      },
    ]
  })
}

resource "aws_iam_role" "task" {
  name               = "${var.name}-task"
  assume_role_policy = local.ecs_tasks_trust
  tags               = var.tags
}

resource "aws_iam_role_policy" "task" {
  name = "app"
  role = aws_iam_role.task.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ExportArchives"
        Effect   = "Allow"
        Action   = ["s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
        Resource = [for pair in setproduct(local.bucket_arns, local.object_prefixes) : "${pair[0]}/${pair[1]}*"]
      },
      {
        Sid       = "ListExports"
        Effect    = "Allow"
        Action    = ["s3:ListBucket"]
        Resource  = local.bucket_arns
        Condition = { StringLike = { "s3:prefix" = [for prefix in local.object_prefixes : "${prefix}*"] } }
      },
      {
        Sid      = "ExportEncryption"
        Effect   = "Allow"
        Action   = ["kms:GenerateDataKey", "kms:Decrypt"]
        Resource = concat([var.data_kms_key_arn], var.extra_kms_key_arns)
      },
      {
        # Copies of scheduled exports to customers' own buckets: each customer's role trusts this one
        # and requires the external id we generated for their workspace (saas/exports/destinations.py).
        Sid      = "CustomerExportRoles"
        Effect   = "Allow"
        Action   = ["sts:AssumeRole"]
        Resource = ["arn:aws:iam::*:role/*"]
      },
      {
        Sid      = "SendMail"
        Effect   = "Allow"
        Action   = ["ses:SendEmail", "ses:SendRawEmail"]
        Resource = [var.ses_identity_arn, var.ses_configuration_set_arn]
      },
    ]
  })
}
