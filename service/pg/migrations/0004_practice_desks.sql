-- Why: a practice desk is where counselors train, staff playing the visitor. Its conversations
-- never reach the public, the reports or the real counts, and are erased after a few days.
-- 1: practice. Set when the desk is made and never changed afterwards.
ALTER TABLE desk ADD COLUMN practice INTEGER NOT NULL DEFAULT 0;
