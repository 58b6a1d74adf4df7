"""Retention (SPEC §6): the policy (what it selects), its enforcement in batches, the
notices authors get, the Celery tasks that run it, and the admin page."""
