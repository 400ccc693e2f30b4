"""Users, passwords, sessions, memberships and roles, API tokens."""
