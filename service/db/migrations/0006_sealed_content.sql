-- Why: what visitors and staff write is sealed with AES-GCM (service/crypto.py); the code word keeps a keyed hash beside its ciphertext so phone counselors can still find it by exact match, and the database records which key sealed it.
ALTER TABLE conversation ADD COLUMN code_word_mac TEXT;
CREATE INDEX conversation_code_word_mac ON conversation (code_word_mac)
    WHERE code_word_mac IS NOT NULL;

CREATE TABLE sealing_key (
    key_id      TEXT PRIMARY KEY,              -- hex of the first 4 bytes of a key's hash
    created_at  TEXT NOT NULL
) WITHOUT ROWID;
