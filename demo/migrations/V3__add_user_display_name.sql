-- Release 3, expand: "user".name becomes display_name without downtime. Revision v2's code reads and writes
-- name, v3's display_name, and both serve while the release runs. The new column, filled from the old one; until
-- the contract (contract/V4) drops name, a trigger keeps the two in step for the rows either code inserts or updates.
ALTER TABLE "user" ADD COLUMN display_name text;
UPDATE "user" SET display_name = name;
CREATE FUNCTION user_sync_names() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.display_name IS NULL THEN
      NEW.display_name := NEW.name;
    ELSIF NEW.name IS NULL THEN
      NEW.name := NEW.display_name;
    END IF;
  ELSIF NEW.name IS DISTINCT FROM OLD.name THEN
    NEW.display_name := NEW.name;
  ELSIF NEW.display_name IS DISTINCT FROM OLD.display_name THEN
    NEW.name := NEW.display_name;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER user_sync_names BEFORE INSERT OR UPDATE ON "user"
  FOR EACH ROW EXECUTE FUNCTION user_sync_names();
