-- Stands for a long data migration: long enough to pause its coordinator in the middle of it.
SELECT pg_sleep(4);
CREATE TABLE ledger_summary (day date PRIMARY KEY, total numeric(14, 2) NOT NULL);
