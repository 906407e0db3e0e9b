-- Revision v1's code reads and writes users.legacy_name.
CREATE TABLE users (
  id          bigserial PRIMARY KEY,
  legacy_name text,
  email       text
);
INSERT INTO users (legacy_name, email)
  SELECT 'user ' || n, 'user' || n || '@example.com' FROM generate_series(1, 1204) AS n;
