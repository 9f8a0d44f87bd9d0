-- Where credentials sit in plain text: one row per secret-looking value `tokenward
-- scan` found in an agent's configuration (an MCP server's env or headers, a dotenv
-- file, a cloud shared-credentials file). The value itself is never kept: only its
-- sha256 fingerprint (as credentials.fingerprint writes it) and, for a cloud key,
-- the access key id written beside it. Joined to credentials when read.
CREATE TABLE deployments (
    id          INTEGER PRIMARY KEY,
    host        TEXT NOT NULL,
    path        TEXT NOT NULL,
    location    TEXT NOT NULL,   -- e.g. mcpServers.github.env.GITHUB_TOKEN, GITHUB_TOKEN, [default] aws_secret_access_key
    format      TEXT NOT NULL,   -- mcp | dotenv | aws-credentials
    fingerprint TEXT NOT NULL,
    key_id      TEXT,
    first_seen  TEXT NOT NULL,
    last_seen   TEXT NOT NULL,
    UNIQUE (host, path, location)
);
CREATE INDEX deployments_fp ON deployments(fingerprint);
CREATE INDEX deployments_key ON deployments(key_id) WHERE key_id IS NOT NULL;
-- An API key found beside its key id (a cloud shared-credentials file) is joined
-- by that id: the issuer's own id of API keys, looked up here.
CREATE INDEX credentials_api_key ON credentials(external_id) WHERE kind = 'api_key';
