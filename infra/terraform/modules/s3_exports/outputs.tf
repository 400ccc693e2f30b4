output "bucket_id" {
  description = "Name of the export bucket."
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "ARN of the export bucket, for the task role's policy."
  value       = aws_s3_bucket.this.arn
}

output "exports_prefix" {
  description = "Key prefix of export archives."
  value       = var.exports_prefix
}
