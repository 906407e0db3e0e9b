-- Release 3, contract: in the contract/ folder, so Lockstep applies it only after the switch, once no server runs
-- v2's code (the only code that reads name). The trigger that kept the two columns in step goes, then the old
-- column; display_name takes over its NOT NULL (v3's code always writes it).
DROP TRIGGER user_sync_names ON "user";
DROP FUNCTION user_sync_names();
ALTER TABLE "user" DROP COLUMN name;
ALTER TABLE "user" ALTER COLUMN display_name SET NOT NULL;
