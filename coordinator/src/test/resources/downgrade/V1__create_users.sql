CREATE TABLE "user" (
  id   bigint PRIMARY KEY,
  name text NOT NULL
);
INSERT INTO "user" (id, name) VALUES (1, 'ada'), (2, 'grace'), (3, 'linus');
