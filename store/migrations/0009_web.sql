-- 0009_web: the web workbench's accounts (docs/contract.md 12). A user is an office,
-- supervisor or mediator account at one org node of the roster (text id, no foreign key: a
-- roster import never breaks an account); its password is an Argon2id encoded hash, never the
-- password. A session is known by the SHA-256 of its cookie value (the value itself is never
-- stored), with its CSRF token. The audit log keeps who did what that must be accountable
-- (sign-in, sign-out, revealing a resident's full phone number, commands from the workbench).
CREATE TABLE web_users (
    login        TEXT PRIMARY KEY,
    role         TEXT NOT NULL CHECK (role IN ('office', 'supervisor', 'mediator')),
    org_id       TEXT NOT NULL,
    mediator_id  TEXT,
    pw_hash      TEXT,
    disabled     INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX web_users_mediator ON web_users(mediator_id) WHERE mediator_id IS NOT NULL;

CREATE TABLE web_sessions (
    token_hash   TEXT PRIMARY KEY,
    login        TEXT NOT NULL,
    csrf         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX web_sessions_login ON web_sessions(login);

CREATE TABLE web_audit (
    id       INTEGER PRIMARY KEY,
    at       INTEGER NOT NULL,
    login    TEXT NOT NULL,
    action   TEXT NOT NULL,
    case_no  TEXT,
    detail   TEXT
);
CREATE INDEX web_audit_at ON web_audit(at);
