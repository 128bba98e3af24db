-- Price lists (SQLite twin of postgres/0007_price_lists.sql): per-product prices with quantity breaks, valid in a window,
-- assigned to accounts (one list per account).
CREATE TABLE price_lists (
    tenant_id    BIGINT NOT NULL,
    id           BIGINT NOT NULL,
    public_id    BLOB NOT NULL,
    name         TEXT NOT NULL,
    name_key     TEXT NOT NULL,
    currency     TEXT NOT NULL,
    valid_from   DATE,
    valid_to     DATE,
    active       BOOLEAN NOT NULL,
    version      BIGINT NOT NULL,
    created_at   DATETIME NOT NULL,
    updated_at   DATETIME NOT NULL,
    created_by   BIGINT,
    updated_by   BIGINT,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT price_lists_public_id_key UNIQUE (tenant_id, public_id),
    CONSTRAINT price_lists_name_key UNIQUE (tenant_id, name_key)
);

CREATE TABLE price_list_items (
    tenant_id       BIGINT NOT NULL,
    price_list_id   BIGINT NOT NULL,
    product_id      BIGINT NOT NULL,
    min_quantity_e4 BIGINT NOT NULL,
    price_e4        BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, price_list_id, product_id, min_quantity_e4),
    FOREIGN KEY (tenant_id, price_list_id) REFERENCES price_lists (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX price_list_items_product_idx ON price_list_items (tenant_id, product_id);

CREATE TABLE account_price_lists (
    tenant_id      BIGINT NOT NULL,
    account_id     BIGINT NOT NULL,
    price_list_id  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, account_id),
    FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, price_list_id) REFERENCES price_lists (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX account_price_lists_list_idx ON account_price_lists (tenant_id, price_list_id);
