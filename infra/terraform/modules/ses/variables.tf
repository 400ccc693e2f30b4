variable "name" {
  description = "Name of the SES configuration set (the app's SES_CONFIGURATION_SET)."
  type        = string
}

variable "domain" {
  description = "Sending domain; publish the DKIM CNAMEs from the dkim_tokens output in its DNS zone."
  type        = string
}

variable "mail_from_subdomain" {
  description = "Subdomain of the custom MAIL FROM (bounce) domain, e.g. mail for mail.example.com."
  type        = string
  default     = "mail"
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
