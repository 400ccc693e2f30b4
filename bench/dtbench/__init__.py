"""A minimal django-tenants project for bench/provision.py --against-django-tenants (bench only)."""
