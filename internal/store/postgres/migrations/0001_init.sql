-- Configs are json, not jsonb: json keeps the text byte for byte, and a
-- release's hash is computed over exactly those bytes.

CREATE TABLE draft (
    id         integer     PRIMARY KEY CHECK (id = 1),
    revision   bigint      NOT NULL CHECK (revision > 0),
    config     json        NOT NULL,
    updated_at timestamptz NOT NULL,
    updated_by text        NOT NULL
);

CREATE TABLE releases (
    version      bigint      PRIMARY KEY CHECK (version > 0),
    hash         text        NOT NULL,
    config       json        NOT NULL,
    message      text        NOT NULL,
    published_at timestamptz NOT NULL,
    published_by text        NOT NULL,
    rollback_of  bigint      NOT NULL DEFAULT 0
);

CREATE FUNCTION atelier_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'rows of % cannot be changed or removed', TG_TABLE_NAME;
END
$$;

-- Releases are immutable: versions only grow and a published version always
-- means the same content.
CREATE TRIGGER releases_immutable BEFORE UPDATE OR DELETE ON releases
    FOR EACH ROW EXECUTE FUNCTION atelier_refuse_change();
CREATE TRIGGER releases_no_truncate BEFORE TRUNCATE ON releases
    FOR EACH STATEMENT EXECUTE FUNCTION atelier_refuse_change();

CREATE TABLE audit (
    id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time    timestamptz NOT NULL,
    actor   text        NOT NULL,
    source  text        NOT NULL,
    action  text        NOT NULL,
    target  text        NOT NULL,
    summary text        NOT NULL
);
CREATE INDEX audit_actor ON audit (actor, id);
CREATE INDEX audit_action ON audit (action, id);
CREATE INDEX audit_time ON audit (time);

-- The audit log is append-only.
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION atelier_refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION atelier_refuse_change();

CREATE TABLE users (
    name          text        PRIMARY KEY,
    role          text        NOT NULL CHECK (role IN ('viewer', 'editor', 'publisher', 'admin')),
    password_hash text        NOT NULL,
    disabled      boolean     NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL
);

CREATE TABLE tokens (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text        NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('api', 'sync')),
    role         text        NOT NULL CHECK (role IN ('', 'viewer', 'editor', 'publisher', 'admin')),
    hash         text        NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL,
    created_by   text        NOT NULL,
    last_used_at timestamptz,
    revoked_at   timestamptz
);

-- A deleted user's sessions go with it.
CREATE TABLE sessions (
    id_hash    text        PRIMARY KEY,
    user_name  text        NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_name);
CREATE INDEX sessions_expires ON sessions (expires_at);
