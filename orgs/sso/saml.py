"""A SAML identity provider's metadata (a URL or the XML itself), read with python3-saml
(allauth's SAML library) into the `idp` settings of allauth's SAML app."""

from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser

from ..errors import Invalid

# SECURITY: what the org's SAML sign-ins ask of the provider: a signed assertion, and
# python3-saml's strict checks (audience, destination, time window, replay of an ID).
ADVANCED = {"strict": True, "want_assertion_signed": True, "reject_idp_initiated_sso": True}


def _parsed(metadata: dict, field: str) -> dict:
    idp = metadata.get("idp") or {}
    entity_id = idp.get("entityId")
    sso_url = (idp.get("singleSignOnService") or {}).get("url")
    cert = idp.get("x509cert") or next(
        iter((idp.get("x509certMulti") or {}).get("signing", [])), ""
    )
    if not (entity_id and sso_url and cert):
        raise Invalid(
            "The metadata must name the provider (entityID), its sign-in URL "
            "(SingleSignOnService) and its signing certificate.",
            field=field,
        )
    return {"entity_id": entity_id, "sso_url": sso_url, "x509cert": cert}


def idp_settings(*, metadata_url: str = "", metadata_xml: str = "") -> dict:
    if metadata_xml.strip():
        try:
            metadata = OneLogin_Saml2_IdPMetadataParser.parse(metadata_xml.strip())
        except Exception as exc:  # python3-saml raises bare Exceptions and lxml errors
            raise Invalid(
                f"The SAML metadata is not valid XML: {exc}", field="metadata_xml"
            ) from exc
        return _parsed(metadata, "metadata_xml")
    if metadata_url:
        try:
            metadata = OneLogin_Saml2_IdPMetadataParser.parse_remote(metadata_url, timeout=10)
        except Exception as exc:  # unreachable, not XML, not metadata
            raise Invalid(
                f"Could not read SAML metadata from {metadata_url}: {exc}", field="metadata_url"
            ) from exc
        settings = _parsed(metadata, "metadata_url")
        # allauth re-reads the URL (cached 4 hours), so a rotated certificate is picked up.
        return {"entity_id": settings["entity_id"], "metadata_url": metadata_url}
    raise Invalid("Give the provider's SAML metadata: its URL or the XML.", field="metadata_url")
