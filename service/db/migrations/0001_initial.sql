-- Why: the core chat needs desks, partners, counselor accounts and sessions, conversations and messages.
CREATE TABLE desk (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    is_default  INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX desk_one_default ON desk (is_default) WHERE is_default = 1;

CREATE TABLE partner (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    origins     TEXT NOT NULL DEFAULT '[]',   -- JSON array of "scheme://host[:port]"
    is_default  INTEGER NOT NULL DEFAULT 0,
    enabled     INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX partner_one_default ON partner (is_default) WHERE is_default = 1;

CREATE TABLE user (
    id             INTEGER PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('counselor', 'supervisor', 'admin')),
    password_hash  TEXT NOT NULL,
    all_desks      INTEGER NOT NULL DEFAULT 1,
    active         INTEGER NOT NULL DEFAULT 1,
    created_at     TEXT NOT NULL
);

CREATE TABLE user_desk (
    user_id  INTEGER NOT NULL REFERENCES user (id) ON DELETE CASCADE,
    desk_id  INTEGER NOT NULL REFERENCES desk (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, desk_id)
) WITHOUT ROWID;

-- Server-side sessions: the cookie holds a random id, the table only its SHA-256.
CREATE TABLE session (
    id_hash       TEXT PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES user (id) ON DELETE CASCADE,
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX session_user ON session (user_id);

CREATE TABLE conversation (
    id            TEXT PRIMARY KEY,                -- random, 128 bits, URL-safe
    token_hash    TEXT NOT NULL UNIQUE,            -- SHA-256 of the visitor's secret token
    desk_id       INTEGER NOT NULL REFERENCES desk (id),
    partner_id    INTEGER REFERENCES partner (id),
    campaign      TEXT,
    lang          TEXT NOT NULL,
    topic         TEXT,
    status        TEXT NOT NULL CHECK (status IN ('waiting', 'active', 'closed')),
    urgent        INTEGER NOT NULL DEFAULT 0,
    counselor_id  INTEGER REFERENCES user (id),
    last_seq      INTEGER NOT NULL DEFAULT 0,
    outcome       TEXT,
    closed_by     TEXT CHECK (closed_by IN ('visitor', 'counselor', 'system')),
    created_at    TEXT NOT NULL,
    claimed_at    TEXT,
    closed_at     TEXT
);
CREATE INDEX conversation_open ON conversation (desk_id, status) WHERE status != 'closed';
CREATE INDEX conversation_counselor ON conversation (counselor_id, status);

-- seq is gapless per conversation; client_id makes a resend idempotent.
CREATE TABLE message (
    conversation_id  TEXT NOT NULL REFERENCES conversation (id),
    seq              INTEGER NOT NULL,
    author           TEXT NOT NULL CHECK (author IN ('visitor', 'counselor', 'system')),
    user_id          INTEGER REFERENCES user (id),
    client_id        TEXT,
    body             TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    PRIMARY KEY (conversation_id, seq),
    UNIQUE (conversation_id, author, client_id)
) WITHOUT ROWID;
