-- Small key/value facts about this database (e.g. whether the docs were seeded).
CREATE TABLE store_facts (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- The public knowledge base searched by `public_search`.
CREATE TABLE documents (
    rowid      INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    source     TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE VIRTUAL TABLE documents_fts USING fts5(
    title, body, content = 'documents', content_rowid = 'rowid', tokenize = 'porter unicode61'
);
CREATE TRIGGER documents_ai AFTER INSERT ON documents BEGIN
    INSERT INTO documents_fts (rowid, title, body) VALUES (new.rowid, new.title, new.body);
END;
CREATE TRIGGER documents_ad AFTER DELETE ON documents BEGIN
    INSERT INTO documents_fts (documents_fts, rowid, title, body) VALUES ('delete', old.rowid, old.title, old.body);
END;

-- Chat history, per user.
CREATE TABLE conversations (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    -- Orders conversations updated in the same second.
    updated_seq INTEGER NOT NULL
);
CREATE INDEX conversations_user_updated ON conversations (user_id, updated_at DESC, updated_seq DESC);

CREATE TABLE messages (
    rowid           INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
    content         TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX messages_conversation ON messages (conversation_id, rowid);
CREATE VIRTUAL TABLE messages_fts USING fts5(
    content, content = 'messages', content_rowid = 'rowid', tokenize = 'porter unicode61'
);
CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, content) VALUES (new.rowid, new.content);
END;
CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.rowid, old.content);
END;

-- SSH hosts the operator defined. The private key is sealed with the master key when one
-- is configured. allowed_users: JSON array of user names; empty means every user.
CREATE TABLE ssh_hosts (
    name          TEXT PRIMARY KEY,
    address       TEXT NOT NULL,
    username      TEXT NOT NULL,
    private_key   BLOB NOT NULL,
    protection    TEXT NOT NULL CHECK (protection IN ('plain', 'master-key')),
    host_key      TEXT NOT NULL,
    allowed_users TEXT NOT NULL DEFAULT '[]',
    created_at    INTEGER NOT NULL
);

-- Every ssh_execute, whatever its outcome.
CREATE TABLE ssh_audit (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    user_id     TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    host        TEXT NOT NULL,
    command     TEXT NOT NULL,
    exit_status INTEGER,
    timed_out   INTEGER NOT NULL DEFAULT 0,
    duration_ms INTEGER NOT NULL,
    outcome     TEXT NOT NULL
);
