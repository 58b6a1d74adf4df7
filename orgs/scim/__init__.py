"""SCIM 2.0 provisioning (RFC 7643/7644) of an organisation's users and groups."""
