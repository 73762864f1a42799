-- Why: a message is stored with one statement (INSERT … SELECT last_seq + 1 FROM conversation);
-- the trigger keeps conversation.last_seq in step inside SQLite, where it costs no round trip
-- from Python (the write path's hottest loop, docs/performance.md).
CREATE TRIGGER message_advances_last_seq AFTER INSERT ON message
BEGIN
    UPDATE conversation SET last_seq = NEW.seq WHERE id = NEW.conversation_id;
END;
