"""Per-organisation single sign-on: an org's own OpenID Connect or SAML provider, which
signs its people in, makes them members and keeps their role and groups in step."""
