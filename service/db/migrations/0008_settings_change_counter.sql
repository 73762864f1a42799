-- Why: the server keeps desks, partners, campaigns, emergency contacts and every account's
-- rights in memory and must notice when another process (the CLI) changes them. PRAGMA
-- data_version changes on every commit of another connection, which is every message once the
-- writer commits in its own process; this counter changes only when those settings do.
CREATE TABLE settings_change (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    version  INTEGER NOT NULL
);
INSERT INTO settings_change (id, version) VALUES (1, 0);

CREATE TRIGGER desk_insert_changes_settings AFTER INSERT ON desk
BEGIN
    UPDATE settings_change SET version = version + 1;
END;

CREATE TRIGGER desk_update_changes_settings AFTER UPDATE ON desk
BEGIN
    UPDATE settings_change SET version = version + 1;
END;

CREATE TRIGGER desk_delete_changes_settings AFTER DELETE ON desk
BEGIN
    UPDATE settings_change SET version = version + 1;
END;

CREATE TRIGGER partner_insert_changes_settings AFTER INSERT ON partner
BEGIN
    UPDATE settings_change SET version = version + 1;
END;

CREATE TRIGGER partner_update_changes_settings AFTER UPDATE ON partner
BEGIN
    UPDATE settings_change SET version = version + 1;
END;

CREATE TRIGGER partner_delete_changes_settings AFTER DELETE ON partner
BEGIN
    UPDATE settings_change SET version = version + 1;
END;

CREATE TRIGGER campaign_insert_changes_settings AFTER INSERT ON campaign
BEGIN
    UPDATE settings_change SET version = version + 1;
END;

CREATE TRIGGER campaign_update_changes_settings AFTER UPDATE ON campaign
BEGIN
    UPDATE settings_change SET version = version + 1;
END;

CREATE TRIGGER campaign_delete_changes_settings AFTER DELETE ON campaign
BEGIN
    UPDATE settings_change SET version = version + 1;
END;

CREATE TRIGGER emergency_contact_insert_changes_settings AFTER INSERT ON emergency_contact
BEGIN
    UPDATE settings_change SET version = version + 1;
END;

CREATE TRIGGER emergency_contact_update_changes_settings AFTER UPDATE ON emergency_contact
BEGIN
    UPDATE settings_change SET version = version + 1;
END;

CREATE TRIGGER emergency_contact_delete_changes_settings AFTER DELETE ON emergency_contact
BEGIN
    UPDATE settings_change SET version = version + 1;
END;

CREATE TRIGGER user_insert_changes_settings AFTER INSERT ON user
BEGIN
    UPDATE settings_change SET version = version + 1;
END;

-- A new password ends the account's sessions itself; the server keeps names and rights.
CREATE TRIGGER user_update_changes_settings AFTER UPDATE OF username, display_name, role, active, all_desks ON user
BEGIN
    UPDATE settings_change SET version = version + 1;
END;

CREATE TRIGGER user_delete_changes_settings AFTER DELETE ON user
BEGIN
    UPDATE settings_change SET version = version + 1;
END;

CREATE TRIGGER user_desk_insert_changes_settings AFTER INSERT ON user_desk
BEGIN
    UPDATE settings_change SET version = version + 1;
END;

CREATE TRIGGER user_desk_update_changes_settings AFTER UPDATE ON user_desk
BEGIN
    UPDATE settings_change SET version = version + 1;
END;

CREATE TRIGGER user_desk_delete_changes_settings AFTER DELETE ON user_desk
BEGIN
    UPDATE settings_change SET version = version + 1;
END;
