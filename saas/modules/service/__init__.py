"""Service: tickets with SLAs, queues, knowledge base, customer portal."""
