"""OAuth 2.1 for /mcp (SPEC §10): registered clients, the connections users allowed (grants),
authorization codes and refresh tokens. The access token is an `mcp` API key (api_keys), one
per grant; every secret here is stored as its SHA-256 hex digest only."""
import uuid
from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from ..extensions import db
from .base import created_at_column, uuid_pk

# How a client authenticates at the token endpoint (RFC 7591 token_endpoint_auth_method).
CLIENT_AUTH_METHODS = ("none", "client_secret_basic", "client_secret_post")


class OAuthClient(db.Model):
    """A client registered dynamically (RFC 7591) or known by its Client ID Metadata Document
    (client_id is then the document's https URL; the row caches what it said)."""

    __tablename__ = "oauth_clients"

    id: Mapped[uuid.UUID] = uuid_pk()
    client_id: Mapped[str] = mapped_column(String(2048), unique=True, nullable=False)
    # "registered" (POST /oauth/register) or "metadata_document" (client_id is a URL).
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    client_uri: Mapped[str] = mapped_column(String(2048), nullable=False, default="")
    redirect_uris: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    auth_method: Mapped[str] = mapped_column(String(32), nullable=False, default="none")
    secret_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = created_at_column()
    # A metadata document is fetched again once this is older than the cache time.
    fetched_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class OAuthGrant(db.Model):
    """One connection: a user allowed a client into a workspace with some abilities. Its access
    token is the `mcp` key `api_key_id` (regenerated on each refresh); deleting that key on the
    API Keys page deletes the grant."""

    __tablename__ = "oauth_grants"

    id: Mapped[uuid.UUID] = uuid_pk()
    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("oauth_clients.id", ondelete="CASCADE"), nullable=False, index=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False, index=True)
    api_key_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE"), nullable=False, unique=True)
    resource: Mapped[str] = mapped_column(String(2048), nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # Why it ended: "refresh_token_reused", "code_reused", "revoked_by_client", "role_lost"…
    revoked_reason: Mapped[str] = mapped_column(String(64), nullable=False, default="")

    client = relationship("OAuthClient", lazy="joined")
    # The keys table reads key.oauth_grant.client.name for "via OAuth: <client name>".
    api_key = relationship("ApiKey", backref=backref("oauth_grant", uselist=False,
                                                     passive_deletes=True))


class OAuthCode(db.Model):
    """An authorization code: single use, minutes long, bound to its client, redirect URI, PKCE
    challenge, user, workspace, abilities and resource. `grant_id` is what it issued, so a
    second use can revoke that."""

    __tablename__ = "oauth_codes"

    id: Mapped[uuid.UUID] = uuid_pk()
    code_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("oauth_clients.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False)
    redirect_uri: Mapped[str] = mapped_column(Text, nullable=False)
    code_challenge: Mapped[str] = mapped_column(String(128), nullable=False)
    abilities: Mapped[str] = mapped_column(String(512), nullable=False)
    resource: Mapped[str] = mapped_column(String(2048), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, index=True)
    used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    grant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("oauth_grants.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = created_at_column()


class OAuthRefreshToken(db.Model):
    """One refresh token of a grant. Used once (rotation): `used_at` set by one conditional
    UPDATE; presenting a used one again revokes the whole grant (reuse detection)."""

    __tablename__ = "oauth_refresh_tokens"

    id: Mapped[uuid.UUID] = uuid_pk()
    grant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("oauth_grants.id", ondelete="CASCADE"), nullable=False, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, index=True)
    used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = created_at_column()
