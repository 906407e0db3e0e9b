CREATE TABLE accounts (
  id     bigint PRIMARY KEY,
  email  text NOT NULL,
  legacy text
);
INSERT INTO accounts (id, email, legacy) VALUES (1, 'ada@example.com', 'x'), (2, 'grace@example.com', NULL);
