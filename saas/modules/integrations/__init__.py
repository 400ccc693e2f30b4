"""The integrations module's registration; the code lives in saas.webhooks and saas.api."""
