"""Notifications: what a member should know (mentioned, assigned, their deal moved, an SLA about to
breach, their import finished), shown in the workspace's notification centre or mailed as a digest."""
