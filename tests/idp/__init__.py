"""Identity providers that others wrote, run on loopback for the SSO tests."""
