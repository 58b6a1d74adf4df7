"""Organisations, memberships and roles, API tokens and the audit log."""
