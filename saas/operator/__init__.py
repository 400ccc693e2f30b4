"""The operator area: platform staff (user accounts marked by ``saas operators grant``) see every tenant's
cell and move a tenant to another cell from /operator/, through the same service as ``saas tenants move``."""
