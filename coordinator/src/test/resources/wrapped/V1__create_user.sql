CREATE TABLE "user" (id bigint PRIMARY KEY, name text);
