-- 0001_init: the whole first schema of fengqiao.
-- Times are unix seconds (INTEGER). Ids of org nodes and mediators are the roster's text ids;
-- cases keep them as plain text (no foreign key), so a roster import never breaks old cases.

CREATE TABLE residents (
    channel     TEXT NOT NULL,
    user        TEXT NOT NULL,
    name        TEXT,
    contact     TEXT,
    locale      INTEGER NOT NULL DEFAULT -1,
    first_seen  INTEGER NOT NULL DEFAULT 0,
    last_seen   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (channel, user)
) WITHOUT ROWID;

CREATE TABLE conversations (
    channel       TEXT NOT NULL,
    user          TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'idle',
    locale        INTEGER NOT NULL DEFAULT 0,
    category      TEXT,
    org_id        TEXT,
    place_text    TEXT,
    description   TEXT,
    contact       TEXT,
    name          TEXT,
    people        INTEGER NOT NULL DEFAULT 0,
    danger        INTEGER NOT NULL DEFAULT 0,
    latitude      REAL NOT NULL DEFAULT 0,
    longitude     REAL NOT NULL DEFAULT 0,
    has_location  INTEGER NOT NULL DEFAULT 0,
    last_case_no  TEXT,
    started_at    INTEGER NOT NULL DEFAULT 0,
    updated_at    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (channel, user)
);
-- The idle-timeout sweep reads only unfinished conversations.
CREATE INDEX conversations_unfinished ON conversations(updated_at)
    WHERE state NOT IN ('idle', 'submitted');

CREATE TABLE cases (
    id            INTEGER PRIMARY KEY,
    case_no       TEXT NOT NULL UNIQUE,
    channel       TEXT NOT NULL,
    user          TEXT NOT NULL,
    name          TEXT,
    contact       TEXT,
    category      TEXT NOT NULL,
    severity      INTEGER NOT NULL DEFAULT 0,
    place_org     TEXT,
    place_text    TEXT,
    description   TEXT,
    people        INTEGER NOT NULL DEFAULT 0,
    org_id        TEXT,
    mediator_id   TEXT,
    status        TEXT NOT NULL,
    tier          INTEGER NOT NULL DEFAULT 3,
    attempts      INTEGER NOT NULL DEFAULT 0,
    escalations   INTEGER NOT NULL DEFAULT 0,
    close_reason  TEXT,
    locale        TEXT,
    parent_case   INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    assigned_at   INTEGER NOT NULL DEFAULT 0,
    accepted_at   INTEGER NOT NULL DEFAULT 0,
    resolved_at   INTEGER NOT NULL DEFAULT 0,
    closed_at     INTEGER NOT NULL DEFAULT 0,
    due_accept    INTEGER NOT NULL DEFAULT 0,
    due_resolve   INTEGER NOT NULL DEFAULT 0,
    updated_at    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX cases_status ON cases(status);
CREATE INDEX cases_org ON cases(org_id);
CREATE INDEX cases_place_org ON cases(place_org);
CREATE INDEX cases_mediator ON cases(mediator_id, assigned_at);
-- store_mediator_load (routing asks it for every candidate) counts open cases only, so its cost
-- follows the mediator's open load, not their whole history.
CREATE INDEX cases_mediator_open ON cases(mediator_id, status)
    WHERE status NOT IN ('resolved', 'closed', 'cancelled');
CREATE INDEX cases_created ON cases(created_at);
CREATE INDEX cases_resident ON cases(channel, user, created_at);

-- The history of a case. Append only: the triggers refuse any change.
CREATE TABLE case_events (
    id       INTEGER PRIMARY KEY,
    case_id  INTEGER NOT NULL REFERENCES cases(id),
    type     TEXT NOT NULL,
    actor    TEXT NOT NULL,
    note     TEXT,
    data     TEXT,
    at       INTEGER NOT NULL
);
CREATE INDEX case_events_case ON case_events(case_id, id);
CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events
BEGIN
    SELECT RAISE(ABORT, 'case_events is append-only');
END;
CREATE TRIGGER case_events_no_delete BEFORE DELETE ON case_events
BEGIN
    SELECT RAISE(ABORT, 'case_events is append-only');
END;

-- The last case sequence number given out on each local day (YYYYMMDD).
CREATE TABLE day_seq (
    day   INTEGER PRIMARY KEY,
    last  INTEGER NOT NULL
);

-- The roster (CONTRACT 5). pos keeps the file's order, so a load gives back the same roster.
CREATE TABLE org_nodes (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    level      TEXT NOT NULL,
    parent_id  TEXT,
    latitude   REAL,
    longitude  REAL,
    pos        INTEGER NOT NULL
);
CREATE TABLE org_aliases (
    org_id  TEXT NOT NULL REFERENCES org_nodes(id) ON DELETE CASCADE,
    pos     INTEGER NOT NULL,
    alias   TEXT NOT NULL,
    PRIMARY KEY (org_id, pos)
);
CREATE TABLE mediators (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    org_id        TEXT NOT NULL,
    wecom_userid  TEXT,
    chat_user     TEXT,
    max_open      INTEGER NOT NULL DEFAULT 0,
    supervisor    INTEGER NOT NULL DEFAULT 0,
    active        INTEGER NOT NULL DEFAULT 1,
    pos           INTEGER NOT NULL
);
CREATE TABLE mediator_categories (
    mediator_id  TEXT NOT NULL REFERENCES mediators(id) ON DELETE CASCADE,
    pos          INTEGER NOT NULL,
    category     TEXT NOT NULL,
    PRIMARY KEY (mediator_id, pos)
);
CREATE TABLE routes (
    id        INTEGER PRIMARY KEY,
    category  TEXT NOT NULL,
    org_id    TEXT NOT NULL
);
CREATE TABLE route_mediators (
    route_id     INTEGER NOT NULL REFERENCES routes(id) ON DELETE CASCADE,
    pos          INTEGER NOT NULL,
    mediator_id  TEXT NOT NULL,
    PRIMARY KEY (route_id, pos)
);

-- Inbound dedupe: the answer given to each (scope, key) the first time.
CREATE TABLE inbox (
    scope   TEXT NOT NULL,
    key     TEXT NOT NULL,
    status  INTEGER NOT NULL,
    answer  TEXT,
    at      INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;

-- The transactional outbox. AUTOINCREMENT: an id is never given out twice, even after the
-- newest rows were removed, so "id > after_id" cursors never skip or repeat.
CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id      TEXT NOT NULL UNIQUE,
    channel       TEXT NOT NULL,
    topic         TEXT NOT NULL,
    payload       TEXT NOT NULL,
    retain        INTEGER NOT NULL DEFAULT 0,
    case_no       TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    next_at       INTEGER NOT NULL,
    delivered_at  INTEGER
);
CREATE INDEX outbox_pending ON outbox(channel, id) WHERE delivered_at IS NULL;

CREATE TABLE timers (
    id            INTEGER PRIMARY KEY,
    due_at        INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    case_id       INTEGER NOT NULL DEFAULT 0,
    arg           TEXT,
    fired_at      INTEGER,
    cancelled_at  INTEGER
);
CREATE INDEX timers_due ON timers(due_at, id) WHERE fired_at IS NULL AND cancelled_at IS NULL;
CREATE INDEX timers_case ON timers(case_id) WHERE fired_at IS NULL AND cancelled_at IS NULL;

CREATE TABLE kv (
    key    TEXT PRIMARY KEY,
    value  TEXT
) WITHOUT ROWID;
