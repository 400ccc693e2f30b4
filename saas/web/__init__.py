"""Shared pages, layout, templates, static assets and HTTP error handling."""
