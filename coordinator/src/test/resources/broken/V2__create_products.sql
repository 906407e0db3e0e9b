CREATE TABLE products (id bigint PRIMARY KEY, title text NOT NULL);
