-- Fails with "there is no unique constraint matching given keys for referenced table "user""
-- when the user table has lost its primary key: the drift Lockstep repairs before migrating.
CREATE TABLE orders (
  id      bigserial PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES "user" (id),
  total   numeric(10, 2) NOT NULL
);
