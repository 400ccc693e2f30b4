# The cells: tenants' data by region (docs/operations.md, "Cells"). main.tf is the global part in the
# home region (var.region): the directory's database, the global Redis and the web tier. Each cell
# below is the same module in its own region (a provider per region: Terraform cannot pick providers
# in a for_each), with its own PostgreSQL, Redis, bucket, keys and `saas worker --cell <name>`.
# The directory's own cell ("default") takes no signups: every workspace lives in a regional cell.

provider "aws" {
  alias  = "eu"
  region = var.cells["eu"].region
  default_tags {
    tags = local.tags
  }
}

provider "aws" {
  alias  = "us"
  region = var.cells["us"].region
  default_tags {
    tags = local.tags
  }
}

locals {
  # What a cell's worker needs besides its cell's own: the directory, the global Redis, the keys.
  # Not the Stripe keys: billing is a platform job, run by the default cell's worker at home.
  shared_secret_arns = { for name, arn in module.secrets.arns : name => arn if !startswith(name, "STRIPE_") }
  home = {
    vpc_id                  = module.network.vpc_id
    vpc_cidr_block          = module.network.vpc_cidr_block
    private_route_table_ids = module.network.private_route_table_ids
    data_kms_key_arn        = module.kms_data.key_arn
  }
  cell_modules = { eu = module.cell_eu, us = module.cell_us }
  # Outputs one by one: the whole module objects would make the cells file depend on the workers.
  cell_entries = { eu = module.cell_eu.cells_file_entry, us = module.cell_us.cells_file_entry }
  # The app's CELLS_FILE (saas/cells.py read_cells_file): no secrets, values quoted as JSON strings
  # (valid TOML); CELL_<NAME>_DATABASE_URL and _REDIS_URL come from Secrets Manager.
  cells_file = join("\n", concat(
    [<<-EOT
      [cells.default]
      region = ${jsonencode(var.region)}
      label = ${jsonencode("Directory (${var.region})")}
      signup = false
    EOT
    ],
    [for name, entry in local.cell_entries : join("\n", concat(
      ["[cells.${name}]"],
      [for field in sort(keys(entry)) : "${field} = ${jsonencode(entry[field])}"],
      ["signup = true", ""],
    ))],
  ))
}

module "cell_eu" {
  source = "../../modules/cell"
  providers = {
    aws      = aws.eu
    aws.home = aws
  }
  cell                   = "eu"
  label                  = var.cells["eu"].label
  name_prefix            = local.name
  region                 = var.cells["eu"].region
  availability_zones     = var.cells["eu"].availability_zones
  cidr_block             = var.cells["eu"].cidr_block
  single_nat_gateway     = true # staging
  home                   = local.home
  shared_secret_arns     = local.shared_secret_arns
  cells_file             = local.cells_file
  secret_prefix          = "saas/staging"
  image                  = var.image
  pgbouncer_image        = var.pgbouncer_image
  database_ca_bundle     = var.cells["eu"].database_ca_bundle
  exports_bucket_name    = "${var.exports_bucket_name}-eu"
  access_log_bucket_name = "${var.access_log_bucket_name}-eu"
  mail_domain            = var.mail_domain
  database               = { instance_class = "db.t4g.medium", multi_az = true, backup_retention_days = 7 }
  worker                 = { cpu = 512, memory = 1024, desired_count = 1, min_count = 1, max_count = 2 }
  tags                   = merge(local.tags, { Cell = "eu" })
}

module "cell_us" {
  source = "../../modules/cell"
  providers = {
    aws      = aws.us
    aws.home = aws
  }
  cell                   = "us"
  label                  = var.cells["us"].label
  name_prefix            = local.name
  region                 = var.cells["us"].region
  availability_zones     = var.cells["us"].availability_zones
  cidr_block             = var.cells["us"].cidr_block
  single_nat_gateway     = true # staging
  home                   = local.home
  shared_secret_arns     = local.shared_secret_arns
  cells_file             = local.cells_file
  secret_prefix          = "saas/staging"
  image                  = var.image
  pgbouncer_image        = var.pgbouncer_image
  database_ca_bundle     = var.cells["us"].database_ca_bundle
  exports_bucket_name    = "${var.exports_bucket_name}-us"
  access_log_bucket_name = "${var.access_log_bucket_name}-us"
  mail_domain            = var.mail_domain
  database               = { instance_class = "db.t4g.medium", multi_az = true, backup_retention_days = 7 }
  worker                 = { cpu = 512, memory = 1024, desired_count = 1, min_count = 1, max_count = 2 }
  tags                   = merge(local.tags, { Cell = "us" })
}
