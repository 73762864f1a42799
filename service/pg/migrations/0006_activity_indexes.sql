-- Why: the supervisors' board reads the day's activity (conversations created, claimed or
-- closed since midnight in Tokyo) up to once a second, and a waiting visitor's expected wait
-- reads the desk's latest first replies. Without these indexes both read every conversation
-- kept, which grows with every month of service.
CREATE INDEX conversation_created ON conversation (created_at);
CREATE INDEX conversation_claimed ON conversation (claimed_at) WHERE claimed_at IS NOT NULL;
