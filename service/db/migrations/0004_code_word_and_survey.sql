-- Why: a visitor may leave a code word that phone counselors can recognise later (no personal
-- data), and may answer an optional post-chat survey.
ALTER TABLE conversation ADD COLUMN code_word TEXT;

CREATE TABLE survey (
    conversation_id  TEXT PRIMARY KEY REFERENCES conversation (id),
    rating           INTEGER CHECK (rating BETWEEN 1 AND 5),
    helpful          INTEGER CHECK (helpful IN (0, 1)),
    comment          TEXT,
    created_at       TEXT NOT NULL
) WITHOUT ROWID;
