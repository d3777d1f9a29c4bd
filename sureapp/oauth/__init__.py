"""OAuth 2.1 authorization server for /mcp (SPEC §10, issue 16): an assistant connects in one
click instead of a pasted key.

metadata.py   RFC 9728 / RFC 8414 documents, built on PUBLIC_URL (links.py)
clients.py    dynamic client registration (RFC 7591), Client ID Metadata Documents (fetched
              under netguard's SSRF rule), client authentication, redirect URI matching
grants.py     the authorization request's rules, codes (PKCE S256, single use), the access
              token (an `mcp` API key through keys/services), refresh rotation with reuse
              detection, revocation (RFC 7009), housekeeping
routes.py     the blueprint: well-known documents, /oauth/register, /oauth/authorize (the
              consent screen), /oauth/token, /oauth/revoke
Own code rather than Authlib: README "OAuth for MCP" says why.
"""
