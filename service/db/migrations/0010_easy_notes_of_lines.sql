-- Why: やさしい日本語 pages read an emergency line's note in easy Japanese. The built-in lines'
-- easy notes were kept in the widget's catalogue by phone number, so a line an admin entered
-- had none and showed its note in kanji. The easy note is now the line's own, beside its others.
ALTER TABLE emergency_contact ADD COLUMN note_easy TEXT NOT NULL DEFAULT '';

-- The built-in lines' easy notes, where the Japanese note they say again is unchanged.
UPDATE emergency_contact SET note_easy = 'いま すぐ あぶない とき'
WHERE number = '110' AND note_ja = '今すぐ危険なとき';
UPDATE emergency_contact SET note_easy = '24じかん・おかねは かかりません'
WHERE number IN ('0120-279-889', '0120-279-338') AND note_ja = '24時間・無料';
UPDATE emergency_contact SET note_easy = 'ちかくの そうだん まどぐちに つながります'
WHERE number = '#8008' AND note_ja = '最寄りの相談窓口につながります';
UPDATE emergency_contact SET note_easy = 'ちかくの センターに つながります'
WHERE number = '#8891' AND note_ja = '最寄りのセンターにつながります';
