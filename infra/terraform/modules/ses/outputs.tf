output "identity_arn" {
  description = "ARN of the domain identity, for the task role's ses:SendEmail permission."
  value       = aws_sesv2_email_identity.this.arn
}

output "configuration_set_name" {
  description = "Configuration set the app names on every message."
  value       = aws_sesv2_configuration_set.this.configuration_set_name
}

output "dkim_tokens" {
  description = "Publish <token>._domainkey.<domain> CNAME <token>.dkim.amazonses.com for each."
  value       = aws_sesv2_email_identity.this.dkim_signing_attributes[0].tokens
}

output "configuration_set_arn" {
  description = "ARN of the configuration set, for the task role's ses:SendEmail permission."
  value       = aws_sesv2_configuration_set.this.arn
}
