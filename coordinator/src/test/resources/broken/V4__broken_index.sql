-- References a column that does not exist: the third migration of the release fails.
CREATE INDEX products_sku ON products (sku);
