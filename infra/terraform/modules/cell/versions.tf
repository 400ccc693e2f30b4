terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
      # aws: the cell's region; aws.home: the directory's, where the peering is requested.
      configuration_aliases = [aws.home]
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }
}
