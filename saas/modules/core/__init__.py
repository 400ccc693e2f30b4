"""Core CRM objects every tenant has: contacts and accounts (companies)."""
