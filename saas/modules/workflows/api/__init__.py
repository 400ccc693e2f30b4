"""The workflow API."""
