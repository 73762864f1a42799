-- Why: counselors keep casework beside the chat: a risk level, notes that never reach the visitor, topic tags, transfers, supervisors' notes and a handoff summary for phone and face-to-face counselors.
ALTER TABLE conversation ADD COLUMN risk TEXT NOT NULL DEFAULT 'none'
    CHECK (risk IN ('none', 'concern', 'urgent'));
ALTER TABLE conversation ADD COLUMN summary TEXT;                  -- the handoff summary
ALTER TABLE conversation ADD COLUMN summary_by INTEGER REFERENCES user (id);
ALTER TABLE conversation ADD COLUMN summary_at TEXT;

-- Staff-only notes on a conversation. kind: a counselor's internal note, the note that came
-- with a transfer, or a supervisor's private note to the counselor holding the conversation.
CREATE TABLE note (
    id               INTEGER PRIMARY KEY,
    conversation_id  TEXT NOT NULL REFERENCES conversation (id),
    user_id          INTEGER NOT NULL REFERENCES user (id),
    kind             TEXT NOT NULL CHECK (kind IN ('note', 'transfer', 'supervisor')),
    to_user_id       INTEGER REFERENCES user (id),               -- a supervisor note's reader
    body             TEXT NOT NULL,
    created_at       TEXT NOT NULL
);
CREATE INDEX note_conversation ON note (conversation_id, id);

CREATE TABLE conversation_tag (
    conversation_id  TEXT NOT NULL REFERENCES conversation (id),
    tag_id           INTEGER NOT NULL REFERENCES topic_tag (id),
    PRIMARY KEY (conversation_id, tag_id)
) WITHOUT ROWID;
CREATE INDEX conversation_tag_tag ON conversation_tag (tag_id);

-- Who handed a conversation to whom: the former holder may still read what they held.
CREATE TABLE transfer (
    id               INTEGER PRIMARY KEY,
    conversation_id  TEXT NOT NULL REFERENCES conversation (id),
    by_user_id       INTEGER NOT NULL REFERENCES user (id),
    from_user_id     INTEGER REFERENCES user (id),
    to_user_id       INTEGER REFERENCES user (id),               -- NULL: back to a desk's queue
    from_desk_id     INTEGER NOT NULL REFERENCES desk (id),
    to_desk_id       INTEGER NOT NULL REFERENCES desk (id),
    created_at       TEXT NOT NULL
);
CREATE INDEX transfer_conversation ON transfer (conversation_id);
CREATE INDEX transfer_from_user ON transfer (from_user_id);
CREATE INDEX conversation_closed ON conversation (closed_at) WHERE status = 'closed';

-- The centre's topics, as its poster lists them; admins may rename, add or disable them.
INSERT INTO topic_tag (key, label_ja, label_en, created_at) VALUES
    ('oneself', '自分自身のこと', 'Oneself', '2026-01-01T00:00:00.000Z'),
    ('family', '家族のこと', 'Family', '2026-01-01T00:00:00.000Z'),
    ('work', '仕事のこと', 'Work', '2026-01-01T00:00:00.000Z'),
    ('sexuality', '性に関すること（性自認・性的指向を含む）', 'Sexuality (incl. gender identity and orientation)', '2026-01-01T00:00:00.000Z'),
    ('domestic_violence', 'DV（配偶者・パートナーからの暴力）', 'Domestic violence', '2026-01-01T00:00:00.000Z'),
    ('harassment', 'ハラスメント', 'Harassment', '2026-01-01T00:00:00.000Z'),
    ('other', 'その他', 'Other', '2026-01-01T00:00:00.000Z')
ON CONFLICT (key) DO NOTHING;

-- Every chat opens with a safety check and says when confidentiality ends.
INSERT INTO canned_response (desk_id, title, body, created_at, updated_at)
SELECT NULL, '安全確認（はじめに）',
       '今、安全にお話しできますか？画面を誰かに見られていませんか？',
       '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'
WHERE NOT EXISTS (SELECT 1 FROM canned_response WHERE title = '安全確認（はじめに）');
INSERT INTO canned_response (desk_id, title, body, created_at, updated_at)
SELECT NULL, '安全でなくなったら',
       'もし安全にお話しできなくなったら、いつでも画面を閉じてください。こちらから連絡することはありません。',
       '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'
WHERE NOT EXISTS (SELECT 1 FROM canned_response WHERE title = '安全でなくなったら');
INSERT INTO canned_response (desk_id, title, body, created_at, updated_at)
SELECT NULL, '秘密の守り方',
       'ここでお話しいただいた内容の秘密は守ります。ただし、命に危険があるときやお子さんが危険なときは、関係機関と連携することがあります。そのときは必ずお伝えします。',
       '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'
WHERE NOT EXISTS (SELECT 1 FROM canned_response WHERE title = '秘密の守り方');
INSERT INTO canned_response (desk_id, title, body, created_at, updated_at)
SELECT NULL, 'Safety check (opening)',
       'Is it safe to talk now? Can anyone else see your screen?',
       '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'
WHERE NOT EXISTS (SELECT 1 FROM canned_response WHERE title = 'Safety check (opening)');
