# Staging: the whole production shape at a small size. Production is the same composition with
# bigger numbers (copy this folder, change variables.tf's defaults or pass a tfvars file).
# This file is the global part, in the home region: the directory's database (module.rds), the
# global Redis, the web tier, migrate and the default cell's worker. The cells are in cells.tf.

locals {
  name = "saas-staging"
  tags = {
    Project     = "saas-crm"
    Environment = "staging"
    ManagedBy   = "terraform"
  }
}

# --- keys and logs ---

module "kms_data" {
  source      = "../../modules/kms"
  name        = "${local.name}-data"
  description = "Data of ${local.name}: RDS, ElastiCache, export bucket, secrets"
  tags        = local.tags
}

module "kms_logs" {
  source             = "../../modules/kms"
  name               = "${local.name}-logs"
  description        = "CloudWatch log groups of ${local.name}"
  service_principals = ["logs.${var.region}.amazonaws.com"]
  tags               = local.tags
}

module "logs" {
  source      = "../../modules/logs"
  kms_key_arn = module.kms_logs.key_arn
  groups = {
    web      = "/saas/staging/web"
    worker   = "/saas/staging/worker"
    ecs_exec = "/saas/staging/ecs-exec"
    vpc_flow = "/saas/staging/vpc-flow"
    waf      = "aws-waf-logs-saas-staging"
  }
  tags = local.tags
}

module "access_logs" {
  source      = "../../modules/access_logs"
  bucket_name = var.access_log_bucket_name
  tags        = local.tags
}

# --- network ---

module "network" {
  source             = "../../modules/network"
  name               = local.name
  region             = var.region
  cidr_block         = "10.40.0.0/16"
  availability_zones = var.availability_zones
  single_nat_gateway = true # staging: one NAT gateway is enough
  flow_log_group_arn = module.logs.arns["vpc_flow"]
  tags               = local.tags
}

# --- data stores ---

# The directory (platform schema: tenants, users, billing, the tenant -> cell map); no tenant schemas
# here, since the default cell takes no signups. Each cell's worker reads it across the peering.
module "rds" {
  source                    = "../../modules/rds"
  name                      = local.name
  vpc_id                    = module.network.vpc_id
  subnet_ids                = module.network.private_subnet_ids
  client_security_group_ids = [module.ecs.tasks_security_group_id]
  client_cidr_blocks        = [for cell in var.cells : cell.cidr_block]
  kms_key_arn               = module.kms_data.key_arn
  instance_class            = "db.t4g.medium"
  multi_az                  = true # rehearse failover and rolling releases as production runs them
  backup_retention_days     = 7
  deletion_protection       = true
  tags                      = local.tags
}

resource "random_password" "redis_auth" {
  length  = 64
  special = false
}

module "elasticache" {
  source                    = "../../modules/elasticache"
  name                      = local.name
  vpc_id                    = module.network.vpc_id
  subnet_ids                = module.network.private_subnet_ids
  client_security_group_ids = [module.ecs.tasks_security_group_id]
  client_cidr_blocks        = [for cell in var.cells : cell.cidr_block] # rate limits, credential cache
  kms_key_arn               = module.kms_data.key_arn
  auth_token                = random_password.redis_auth.result
  node_type                 = "cache.t4g.small"
  replicas                  = 1
  tags                      = local.tags
}

module "s3_exports" {
  source            = "../../modules/s3_exports"
  bucket_name       = var.exports_bucket_name
  kms_key_arn       = module.kms_data.key_arn
  access_log_bucket = module.access_logs.bucket_id
  access_log_prefix = module.access_logs.s3_prefix
  tags              = local.tags
}

# --- mail and secrets ---

module "ses" {
  source = "../../modules/ses"
  name   = local.name
  domain = var.mail_domain
  tags   = local.tags
}

resource "random_password" "secret_key" {
  length  = 64
  special = false
}

# The key tenant roles' database passwords are derived from (README, TENANT_DB_SECRET_KEY): its own
# secret, so rotating SECRET_KEY does not lock every tenant out of the database.
resource "random_password" "tenant_db_secret_key" {
  length  = 64
  special = false
}

module "secrets" {
  source      = "../../modules/secrets"
  prefix      = "saas/staging"
  kms_key_arn = module.kms_data.key_arn
  # DATABASE_URL and the Stripe keys are set by an operator (docs/operations.md, "First deploy").
  initial_values = {
    SECRET_KEY           = random_password.secret_key.result
    TENANT_DB_SECRET_KEY = random_password.tenant_db_secret_key.result
    REDIS_URL            = "rediss://:${random_password.redis_auth.result}@${module.elasticache.primary_endpoint}:${module.elasticache.port}/0"
  }
  tags = local.tags
}

# The password of pgbouncer_auth, the role PgBouncer runs auth_query as (docs/operations.md,
# "PgBouncer in transaction mode"): generated here, created in PostgreSQL by an operator with this
# value. A secret of its own, outside module.secrets, so only the PgBouncer sidecar receives it.
resource "random_password" "pgbouncer_auth" {
  length  = 64
  special = false
}

module "pgbouncer_secret" {
  source         = "../../modules/secrets"
  prefix         = "saas/staging"
  names          = ["PGBOUNCER_AUTH_PASSWORD"]
  kms_key_arn    = module.kms_data.key_arn
  initial_values = { PGBOUNCER_AUTH_PASSWORD = random_password.pgbouncer_auth.result }
  tags           = local.tags
}

# --- application ---

module "ecs" {
  source             = "../../modules/ecs"
  name               = local.name
  region             = var.region
  image              = var.image
  vpc_id             = module.network.vpc_id
  vpc_cidr_block     = module.network.vpc_cidr_block
  public_subnet_ids  = module.network.public_subnet_ids
  private_subnet_ids = module.network.private_subnet_ids
  certificate_arn    = var.certificate_arn
  # The web tier serves every cell's tenants: their databases, queues and buckets across the peering.
  cells_file                 = local.cells_file
  secret_arns                = merge(module.secrets.arns, module.cell_eu.secret_arns, module.cell_us.secret_arns)
  peer_cidr_blocks           = [for cell in var.cells : cell.cidr_block]
  extra_kms_key_arns         = [module.cell_eu.data_kms_key_arn, module.cell_us.data_kms_key_arn]
  extra_bucket_arns          = [module.cell_eu.bucket_arn, module.cell_us.bucket_arn]
  pgbouncer_image            = var.pgbouncer_image
  pgbouncer_auth_secret_arn  = module.pgbouncer_secret.arns["PGBOUNCER_AUTH_PASSWORD"]
  database_host              = module.rds.address
  database_port              = module.rds.port
  database_name              = module.rds.database_name
  database_ca_bundle         = var.database_ca_bundle
  data_kms_key_arn           = module.kms_data.key_arn
  logs_kms_key_arn           = module.kms_logs.key_arn
  log_group_names            = module.logs.names
  waf_log_group_arn          = module.logs.arns["waf"]
  exports_bucket_name        = module.s3_exports.bucket_id
  exports_bucket_arn         = module.s3_exports.bucket_arn
  exports_prefix             = module.s3_exports.exports_prefix
  ses_identity_arn           = module.ses.identity_arn
  ses_configuration_set_name = module.ses.configuration_set_name
  ses_configuration_set_arn  = module.ses.configuration_set_arn
  access_log_bucket          = module.access_logs.bucket_id
  access_log_prefix          = module.access_logs.alb_prefix
  web                        = { cpu = 512, memory = 1024, processes = 2, threads = 4, desired_count = 2, min_count = 2, max_count = 4 }
  worker                     = { cpu = 512, memory = 1024, desired_count = 1, min_count = 1, max_count = 2 }
  migrate_jobs               = 4
  tags                       = local.tags
}
