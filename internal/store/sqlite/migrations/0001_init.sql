-- Times are UTC text with six fractional digits (2006-01-02T15:04:05.000000Z):
-- readable in the sqlite3 shell, ordered as text, exact to the microsecond.

CREATE TABLE draft (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    revision   INTEGER NOT NULL CHECK (revision > 0),
    config     TEXT    NOT NULL CHECK (json_valid(config)),
    updated_at TEXT    NOT NULL,
    updated_by TEXT    NOT NULL
) STRICT;

CREATE TABLE releases (
    version      INTEGER PRIMARY KEY CHECK (version > 0),
    hash         TEXT    NOT NULL,
    config       TEXT    NOT NULL CHECK (json_valid(config)),
    message      TEXT    NOT NULL,
    published_at TEXT    NOT NULL,
    published_by TEXT    NOT NULL,
    rollback_of  INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Releases are immutable: versions only grow and a published version always
-- means the same content.
CREATE TRIGGER releases_no_update BEFORE UPDATE ON releases
BEGIN
    SELECT RAISE(ABORT, 'releases are immutable');
END;
CREATE TRIGGER releases_no_delete BEFORE DELETE ON releases
BEGIN
    SELECT RAISE(ABORT, 'releases are immutable');
END;

CREATE TABLE audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    time    TEXT NOT NULL,
    actor   TEXT NOT NULL,
    source  TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT NOT NULL,
    summary TEXT NOT NULL
) STRICT;
CREATE INDEX audit_actor ON audit (actor, id);
CREATE INDEX audit_action ON audit (action, id);
CREATE INDEX audit_time ON audit (time);

-- The audit log is append-only.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TABLE users (
    name          TEXT    PRIMARY KEY,
    role          TEXT    NOT NULL CHECK (role IN ('viewer', 'editor', 'publisher', 'admin')),
    password_hash TEXT    NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    TEXT    NOT NULL
) STRICT;

CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('api', 'sync')),
    role         TEXT NOT NULL CHECK (role IN ('', 'viewer', 'editor', 'publisher', 'admin')),
    hash         TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
) STRICT;

-- A deleted user's sessions go with it.
CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY,
    user_name  TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;
CREATE INDEX sessions_user ON sessions (user_name);
CREATE INDEX sessions_expires ON sessions (expires_at);
