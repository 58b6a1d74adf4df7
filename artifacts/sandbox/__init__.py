"""The sandbox host (SPEC §2.6–2.7, §4.4): grants, their authorisation and its caches, the
responses and their headers, compressed variants, its views and its request stack."""
