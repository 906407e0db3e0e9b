CREATE TABLE items (id bigserial PRIMARY KEY, sku text NOT NULL, price numeric(10, 2));
CREATE TABLE tenants (id bigint PRIMARY KEY, name text NOT NULL);
