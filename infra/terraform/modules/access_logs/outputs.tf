output "bucket_id" {
  description = "Name of the access-log bucket."
  value       = aws_s3_bucket.this.id
}

output "alb_prefix" {
  description = "Prefix under which the load balancer writes its logs."
  value       = "alb"
}

output "s3_prefix" {
  description = "Prefix under which S3 server access logs are written."
  value       = "s3/"
}
