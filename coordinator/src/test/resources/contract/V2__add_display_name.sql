-- Expand: the new column, filled from the old one; until the contract, a trigger keeps the two in step, so rows
-- written by either revision's code read the same through both columns.
ALTER TABLE users ADD COLUMN display_name text;
UPDATE users SET display_name = legacy_name;
CREATE FUNCTION users_sync_names() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.display_name IS NULL THEN
      NEW.display_name := NEW.legacy_name;
    ELSIF NEW.legacy_name IS NULL THEN
      NEW.legacy_name := NEW.display_name;
    END IF;
  ELSIF NEW.legacy_name IS DISTINCT FROM OLD.legacy_name THEN
    NEW.display_name := NEW.legacy_name;
  ELSIF NEW.display_name IS DISTINCT FROM OLD.display_name THEN
    NEW.legacy_name := NEW.display_name;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER users_sync_names BEFORE INSERT OR UPDATE ON users FOR EACH ROW EXECUTE FUNCTION users_sync_names();
