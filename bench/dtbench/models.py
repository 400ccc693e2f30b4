"""django-tenants' tenant and domain models, as its documentation declares them."""

from django.db import models
from django_tenants.models import DomainMixin, TenantMixin


class Client(TenantMixin):
    name = models.CharField(max_length=100)
    auto_create_schema = True  # save() creates the schema and migrates the tenant apps into it
    auto_drop_schema = True


class Domain(DomainMixin):
    pass
