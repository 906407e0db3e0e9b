ALTER TABLE "user" ADD COLUMN email text;
