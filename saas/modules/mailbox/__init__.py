"""Mailbox sync: a salesperson's own IMAP/SMTP mailbox, its mail with known customers kept on their
timelines as threads, and mail written from the CRM through the person's own SMTP server."""
