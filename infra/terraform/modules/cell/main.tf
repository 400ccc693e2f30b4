# One cell (docs/operations.md, "Cells"): a region's share of the tenants, built from the same modules
# as the home region. Its own PostgreSQL (tenant roles and schemas, never the directory), Redis (its
# tenants' queues), bucket (their files and exports), KMS keys and logs, and the worker that serves
# it: `saas worker --cell <name>`. The web tier and the directory stay at home; the two VPCs are
# peered, so web and migrate reach this cell's stores and the worker reaches the directory.

locals {
  name = "${var.name_prefix}-${var.cell}"
  # The app reads a cell's secrets from CELL_<NAME>_<FIELD> (saas/cells.py).
  env_prefix = "CELL_${upper(var.cell)}_"
  log_prefix = "/saas/${var.name_prefix}/${var.cell}"
}

# --- keys and logs ---

module "kms_data" {
  source      = "../kms"
  name        = "${local.name}-data"
  description = "Data of cell ${var.cell} (${local.name}): RDS, ElastiCache, bucket, secrets"
  tags        = var.tags
}

module "kms_logs" {
  source             = "../kms"
  name               = "${local.name}-logs"
  description        = "CloudWatch log groups of cell ${var.cell} (${local.name})"
  service_principals = ["logs.${var.region}.amazonaws.com"]
  tags               = var.tags
}

module "logs" {
  source      = "../logs"
  kms_key_arn = module.kms_logs.key_arn
  groups = {
    worker   = "${local.log_prefix}/worker"
    ecs_exec = "${local.log_prefix}/ecs-exec"
    vpc_flow = "${local.log_prefix}/vpc-flow"
  }
  tags = var.tags
}

module "access_logs" {
  source      = "../access_logs"
  bucket_name = var.access_log_bucket_name
  tags        = var.tags
}

# --- network, peered with home ---

module "network" {
  source             = "../network"
  name               = local.name
  region             = var.region
  cidr_block         = var.cidr_block
  availability_zones = var.availability_zones
  single_nat_gateway = var.single_nat_gateway
  flow_log_group_arn = module.logs.arns["vpc_flow"]
  tags               = var.tags
}

resource "aws_vpc_peering_connection" "home" {
  provider    = aws.home
  vpc_id      = var.home.vpc_id
  peer_vpc_id = module.network.vpc_id
  peer_region = var.region
  tags        = merge(var.tags, { Name = "${local.name}-home" })
}

resource "aws_vpc_peering_connection_accepter" "home" {
  vpc_peering_connection_id = aws_vpc_peering_connection.home.id
  auto_accept               = true
  tags                      = merge(var.tags, { Name = "${local.name}-home" })
}

# Only the private subnets talk across the peering; the stores' security groups admit the peer's
# range on their one port only.
resource "aws_route" "home_to_cell" {
  provider                  = aws.home
  count                     = length(var.home.private_route_table_ids)
  route_table_id            = var.home.private_route_table_ids[count.index]
  destination_cidr_block    = var.cidr_block
  vpc_peering_connection_id = aws_vpc_peering_connection_accepter.home.id # once accepted
}

resource "aws_route" "cell_to_home" {
  count                     = length(var.availability_zones)
  route_table_id            = module.network.private_route_table_ids[count.index]
  destination_cidr_block    = var.home.vpc_cidr_block
  vpc_peering_connection_id = aws_vpc_peering_connection_accepter.home.id
}

# --- data stores of the cell ---

module "rds" {
  source                    = "../rds"
  name                      = local.name
  vpc_id                    = module.network.vpc_id
  subnet_ids                = module.network.private_subnet_ids
  client_security_group_ids = [module.worker.tasks_security_group_id]
  client_cidr_blocks        = [var.home.vpc_cidr_block] # web and migrate at home
  kms_key_arn               = module.kms_data.key_arn
  instance_class            = var.database.instance_class
  multi_az                  = var.database.multi_az
  backup_retention_days     = var.database.backup_retention_days
  deletion_protection       = true
  tags                      = var.tags
}

resource "random_password" "redis_auth" {
  length  = 64
  special = false
}

module "elasticache" {
  source                    = "../elasticache"
  name                      = local.name
  vpc_id                    = module.network.vpc_id
  subnet_ids                = module.network.private_subnet_ids
  client_security_group_ids = [module.worker.tasks_security_group_id]
  client_cidr_blocks        = [var.home.vpc_cidr_block] # the web tier queues this cell's jobs
  kms_key_arn               = module.kms_data.key_arn
  auth_token                = random_password.redis_auth.result
  node_type                 = var.redis_node_type
  replicas                  = 1
  tags                      = var.tags
}

module "s3_exports" {
  source            = "../s3_exports"
  bucket_name       = var.exports_bucket_name
  kms_key_arn       = module.kms_data.key_arn
  access_log_bucket = module.access_logs.bucket_id
  access_log_prefix = module.access_logs.s3_prefix
  tags              = var.tags
}

# SES identities are regional: the same domain is verified here too (its own DKIM tokens), with a
# MAIL FROM subdomain of its own, since a MAIL FROM domain's MX names one region.
module "ses" {
  source              = "../ses"
  name                = local.name
  domain              = var.mail_domain
  mail_from_subdomain = "mail-${replace(var.cell, "_", "-")}"
  tags                = var.tags
}

# --- secrets of the cell, under its own key ---

module "secrets" {
  source      = "../secrets"
  prefix      = "${var.secret_prefix}/${var.cell}"
  names       = ["${local.env_prefix}DATABASE_URL", "${local.env_prefix}REDIS_URL"]
  kms_key_arn = module.kms_data.key_arn
  # CELL_<NAME>_DATABASE_URL (the cell's admin user) is set by an operator, like DATABASE_URL.
  initial_values = {
    "${local.env_prefix}REDIS_URL" = "rediss://:${random_password.redis_auth.result}@${module.elasticache.primary_endpoint}:${module.elasticache.port}/0"
  }
  tags = var.tags
}

# pgbouncer_auth of the cell's database: the worker's sidecar logs in with it (set up as at home).
resource "random_password" "pgbouncer_auth" {
  length  = 64
  special = false
}

module "pgbouncer_secret" {
  source         = "../secrets"
  prefix         = "${var.secret_prefix}/${var.cell}"
  names          = ["PGBOUNCER_AUTH_PASSWORD"]
  kms_key_arn    = module.kms_data.key_arn
  initial_values = { PGBOUNCER_AUTH_PASSWORD = random_password.pgbouncer_auth.result }
  tags           = var.tags
}

# --- the cell's worker ---

module "worker" {
  source      = "../ecs"
  name        = local.name
  region      = var.region
  image       = var.image
  web_enabled = false # web and migrate run at home
  cell        = var.cell
  cells_file  = var.cells_file
  # The directory and the global Redis are at home, their secrets under the home key.
  peer_cidr_blocks           = [var.home.vpc_cidr_block]
  extra_kms_key_arns         = [var.home.data_kms_key_arn]
  vpc_id                     = module.network.vpc_id
  vpc_cidr_block             = module.network.vpc_cidr_block
  public_subnet_ids          = module.network.public_subnet_ids
  private_subnet_ids         = module.network.private_subnet_ids
  certificate_arn            = "" # no load balancer here
  secret_arns                = merge(var.shared_secret_arns, module.secrets.arns)
  pgbouncer_image            = var.pgbouncer_image
  pgbouncer_auth_secret_arn  = module.pgbouncer_secret.arns["PGBOUNCER_AUTH_PASSWORD"]
  database_host              = module.rds.address
  database_port              = module.rds.port
  database_name              = module.rds.database_name
  database_ca_bundle         = var.database_ca_bundle
  data_kms_key_arn           = module.kms_data.key_arn
  logs_kms_key_arn           = module.kms_logs.key_arn
  log_group_names            = module.logs.names
  waf_log_group_arn          = "" # no load balancer here
  exports_bucket_name        = module.s3_exports.bucket_id
  exports_bucket_arn         = module.s3_exports.bucket_arn
  exports_prefix             = module.s3_exports.exports_prefix
  ses_identity_arn           = module.ses.identity_arn
  ses_configuration_set_name = module.ses.configuration_set_name
  ses_configuration_set_arn  = module.ses.configuration_set_arn
  access_log_bucket          = module.access_logs.bucket_id
  access_log_prefix          = module.access_logs.alb_prefix
  worker                     = var.worker
  tags                       = var.tags
}
