-- Passes the rehearsal; fails for real if live traffic wrote a duplicate email in between.
CREATE UNIQUE INDEX users_email_key ON users (email);
