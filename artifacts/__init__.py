"""Artifacts: push, immutable versions, content-addressed blobs, and the sandbox origin."""
