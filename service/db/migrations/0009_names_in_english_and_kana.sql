-- Why: English pages show desks and emergency lines by an English name, and やさしい日本語 pages
-- show their Japanese names with a reading in kana over them (furigana). Empty: none given.
ALTER TABLE desk ADD COLUMN name_en TEXT NOT NULL DEFAULT '';
ALTER TABLE desk ADD COLUMN name_kana TEXT NOT NULL DEFAULT '';
ALTER TABLE emergency_contact ADD COLUMN name_en TEXT NOT NULL DEFAULT '';
ALTER TABLE emergency_contact ADD COLUMN name_kana TEXT NOT NULL DEFAULT '';

-- The default desk and the built-in lines, where an admin has not renamed them. Their English
-- notes said the name first; the name now has its own place.
UPDATE desk
SET name_en = 'General consultation (Gender Equality Centre)',
    name_kana = 'いっぱん そうだん（だんじょ びょうどう すいしん センター）'
WHERE key = 'general' AND name = '一般相談（男女平等推進センター）';

UPDATE emergency_contact SET name_en = 'Police', name_kana = 'けいさつ'
WHERE number = '110' AND name = '警察';
UPDATE emergency_contact SET note_en = 'If you are in danger now'
WHERE number = '110' AND note_en = 'Police: if you are in danger now';
UPDATE emergency_contact SET name_en = 'DV Soudan Plus (domestic violence line)',
    name_kana = 'ディーブイ そうだん プラス'
WHERE number = '0120-279-889' AND name = 'DV相談＋（プラス）';
UPDATE emergency_contact SET note_en = '24 hours, free'
WHERE number = '0120-279-889' AND note_en = 'DV Soudan Plus: 24 hours, free';
UPDATE emergency_contact SET name_en = 'DV Navi (domestic violence)',
    name_kana = 'ディーブイ そうだん ナビ'
WHERE number = '#8008' AND name = 'DV相談ナビ';
UPDATE emergency_contact SET note_en = 'Connects you to the nearest desk'
WHERE number = '#8008' AND note_en = 'DV Navi: connects you to the nearest desk';
UPDATE emergency_contact SET name_en = 'One-stop support centre for victims of sexual violence',
    name_kana = 'せいはんざい・せいぼうりょく ひがいしゃの ための ワンストップ しえん センター'
WHERE number = '#8891' AND name = '性犯罪・性暴力被害者のためのワンストップ支援センター';
UPDATE emergency_contact SET note_en = 'Connects you to the nearest centre'
WHERE number = '#8891' AND note_en = 'One-stop centre for sexual violence';
UPDATE emergency_contact SET name_en = 'Yorisoi Hotline (any worry)', name_kana = 'よりそい ホットライン'
WHERE number = '0120-279-338' AND name = 'よりそいホットライン';
UPDATE emergency_contact SET note_en = '24 hours, free'
WHERE number = '0120-279-338' AND note_en = 'Yorisoi Hotline: 24 hours, free';
