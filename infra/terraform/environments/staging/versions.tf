terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }
  # State holds the generated Redis AUTH token, SECRET_KEY and pgbouncer_auth password: keep it in an encrypted, versioned,
  # private bucket with locking. Configure with `terraform init -backend-config=backend.hcl`
  # (bucket, key, region, kms_key_id, dynamodb_table or use_lockfile).
  backend "s3" {
    encrypt = true
  }
}

provider "aws" {
  region = var.region
  default_tags {
    tags = local.tags
  }
}
