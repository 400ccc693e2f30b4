output "names" {
  description = "Log group names by purpose."
  value       = { for purpose, group in aws_cloudwatch_log_group.this : purpose => group.name }
}

output "arns" {
  description = "Log group ARNs by purpose."
  value       = { for purpose, group in aws_cloudwatch_log_group.this : purpose => group.arn }
}
