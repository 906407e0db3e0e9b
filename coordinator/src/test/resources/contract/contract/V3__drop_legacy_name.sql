-- Contract: once no server runs revision v1's code, the old column and the trigger that fed it go.
DROP TRIGGER users_sync_names ON users;
DROP FUNCTION users_sync_names();
ALTER TABLE users DROP COLUMN legacy_name;
