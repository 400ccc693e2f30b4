"""Moving a tenant between cells (``saas tenants move``): the move's record, the copy, the read-only
window and the purge of old copies."""
