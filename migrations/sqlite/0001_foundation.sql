-- Users who can sign in on the login page. Names are kept in lower case (UserName::parse).
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- Clients registered through RFC 7591 dynamic client registration.
-- The client secret is stored only as its SHA-256 hash.
CREATE TABLE clients (
    client_id                  TEXT PRIMARY KEY,
    secret_hash                BLOB CHECK (secret_hash IS NULL OR length(secret_hash) = 32),
    client_name                TEXT,
    client_uri                 TEXT,
    redirect_uris              TEXT NOT NULL,  -- JSON array of exact strings
    token_endpoint_auth_method TEXT NOT NULL,
    grant_types                TEXT NOT NULL,  -- JSON array
    scope                      TEXT,           -- space-delimited, canonical order
    software_id                TEXT,
    software_version           TEXT,
    contacts                   TEXT NOT NULL DEFAULT '[]',  -- JSON array
    issued_at                  INTEGER NOT NULL
);

-- JWS signing keys. The private part is PKCS#8, sealed with the master key when one is
-- configured. At most one active (not retired) key per algorithm.
CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY,
    alg          TEXT NOT NULL,
    public_jwk   TEXT NOT NULL,
    private_key  BLOB NOT NULL,
    protection   TEXT NOT NULL CHECK (protection IN ('plain', 'master-key')),
    created_at   INTEGER NOT NULL,
    retired_at   INTEGER,
    verify_until INTEGER
);
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (alg) WHERE retired_at IS NULL;
