"""The exit: complete tenant exports (one ZIP, a file per table, manifest, README), S3 storage,
schedules, and the import that turns an archive back into a tenant."""
