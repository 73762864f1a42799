-- Why: desks get hours and phones, partners exits and defaults, posters campaigns, staff canned responses and topic tags, and admin changes an audit log.
ALTER TABLE desk ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE desk ADD COLUMN phones TEXT NOT NULL DEFAULT '[]';                -- JSON array of strings
ALTER TABLE desk ADD COLUMN hours TEXT NOT NULL DEFAULT '24/7';               -- SPEC: service/domain/hours.py
ALTER TABLE desk ADD COLUMN closures TEXT NOT NULL DEFAULT '12/29-01/03';     -- extra closed days

-- The desk the first start created becomes the ward's general desk with the ward's hours.
UPDATE desk
SET name = '一般相談（男女平等推進センター）',
    hours = 'mon-fri 09:00-17:00; sat#2 09:00-17:00'
WHERE key = 'general' AND name = '一般相談';

ALTER TABLE partner ADD COLUMN exit_url TEXT;                                 -- NULL: the widget's default
ALTER TABLE partner ADD COLUMN desk_id INTEGER REFERENCES desk (id);          -- NULL: the default desk
ALTER TABLE partner ADD COLUMN lang TEXT NOT NULL DEFAULT 'ja';

CREATE TABLE campaign (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,                  -- in the poster's URL: /c/CODE
    name        TEXT NOT NULL,
    desk_id     INTEGER REFERENCES desk (id),          -- NULL: the partner's or the default desk
    partner_id  INTEGER REFERENCES partner (id),       -- NULL: the default partner
    enabled     INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL
);

-- Shown by the widget beside every desk, open or closed; the order is the position.
CREATE TABLE emergency_contact (
    id        INTEGER PRIMARY KEY,
    position  INTEGER NOT NULL,
    name      TEXT NOT NULL,
    number    TEXT NOT NULL,
    note_ja   TEXT NOT NULL DEFAULT '',
    note_en   TEXT NOT NULL DEFAULT ''
);
INSERT INTO emergency_contact (position, name, number, note_ja, note_en) VALUES
    (1, '警察', '110', '今すぐ危険なとき', 'Police: if you are in danger now'),
    (2, 'DV相談＋（プラス）', '0120-279-889', '24時間・無料', 'DV Soudan Plus: 24 hours, free'),
    (3, 'DV相談ナビ', '#8008', '最寄りの相談窓口につながります', 'DV Navi: connects you to the nearest desk'),
    (4, '性犯罪・性暴力被害者のためのワンストップ支援センター', '#8891', '最寄りのセンターにつながります', 'One-stop centre for sexual violence'),
    (5, 'よりそいホットライン', '0120-279-338', '24時間・無料', 'Yorisoi Hotline: 24 hours, free');

CREATE TABLE canned_response (
    id          INTEGER PRIMARY KEY,
    desk_id     INTEGER REFERENCES desk (id),          -- NULL: every desk
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE topic_tag (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    label_ja    TEXT NOT NULL,
    label_en    TEXT NOT NULL DEFAULT '',
    enabled     INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL
);

-- Who changed what and when; never a password or a message's text. Append-only.
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,                           -- the admin's username, or 'cli'
    actor_id  INTEGER,                                 -- no foreign key: the log outlives accounts
    action    TEXT NOT NULL,                           -- e.g. 'desk.update'
    target    TEXT NOT NULL,                           -- e.g. 'desk:general'
    detail    TEXT NOT NULL DEFAULT '{}'               -- JSON: the fields set
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
