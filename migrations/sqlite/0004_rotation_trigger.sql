-- Refresh-token rotation in one statement: moving a grant's latest_refresh_hash records the
-- new token in refresh_tokens (with its creation time, set in the same UPDATE), so a rotation
-- is a single compare-and-swap UPDATE in autocommit mode: one round trip and one fsync
-- instead of BEGIN, UPDATE, INSERT, COMMIT.
ALTER TABLE grants ADD COLUMN latest_refresh_created_at INTEGER;

CREATE TRIGGER grants_record_rotated_refresh_token
AFTER UPDATE OF latest_refresh_hash ON grants
WHEN new.latest_refresh_hash IS NOT NULL
 AND new.latest_refresh_hash IS NOT old.latest_refresh_hash
 AND new.latest_refresh_created_at IS NOT NULL
BEGIN
    INSERT INTO refresh_tokens (token_hash, grant_id, created_at)
    VALUES (new.latest_refresh_hash, new.id, new.latest_refresh_created_at);
END;
