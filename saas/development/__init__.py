"""Tools that exist only under ``SAAS_ENV=development`` (``saas dev``): the local mail inbox."""
