-- Why: counselors must see that a visitor left by quick exit, and reports count quick exits.
ALTER TABLE conversation ADD COLUMN quick_exit INTEGER NOT NULL DEFAULT 0;
