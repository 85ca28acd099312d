-- Browser sessions after login. Only the SHA-256 of the session id is stored.
CREATE TABLE sessions (
    id_hash    BLOB PRIMARY KEY CHECK (length(id_hash) = 32),
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Remembered consent: this user approved this client for exactly this scope set.
CREATE TABLE consents (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id, scope)
);

-- A grant: what one user approved for one client, and the lineage of its refresh tokens.
-- latest/previous name the two refresh tokens that may still be used (rotation, see
-- oauth/token.rs); any other token of the grant is a replay and revokes it.
CREATE TABLE grants (
    id                    TEXT PRIMARY KEY,
    user_id               TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id             TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    scope                 TEXT NOT NULL,
    resource              TEXT NOT NULL,
    created_at            INTEGER NOT NULL,
    expires_at            INTEGER NOT NULL,
    revoked_at            INTEGER,
    latest_refresh_hash   BLOB,
    previous_refresh_hash BLOB
);
CREATE INDEX grants_user ON grants (user_id);
CREATE INDEX grants_client ON grants (client_id);

-- Authorization codes (hash only), single use; grant_id is set when the code is redeemed so
-- a replay can revoke what it issued.
CREATE TABLE authorization_codes (
    code_hash      BLOB PRIMARY KEY CHECK (length(code_hash) = 32),
    client_id      TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    scope          TEXT NOT NULL,
    resource       TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER,
    grant_id       TEXT REFERENCES grants (id) ON DELETE SET NULL
);

-- Every refresh token ever issued (hash only), so an old one can be recognised as a replay.
CREATE TABLE refresh_tokens (
    token_hash BLOB PRIMARY KEY CHECK (length(token_hash) = 32),
    grant_id   TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);
CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);

-- Access tokens revoked before they expire (RFC 7009); pruned after expiry.
CREATE TABLE revoked_access_tokens (
    jti        TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
