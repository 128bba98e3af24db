-- The catalog (SQLite twin of postgres/0004_catalog.sql): product categories, products,
-- company's own currency, in which product cost is kept.
ALTER TABLE tenants ADD COLUMN currency TEXT NOT NULL DEFAULT 'USD';

CREATE TABLE product_categories (
    tenant_id    BIGINT NOT NULL,
    id           BIGINT NOT NULL,
    public_id    BLOB NOT NULL,
    name         TEXT NOT NULL,
    name_key     TEXT NOT NULL,
    parent_id    BIGINT,
    version      BIGINT NOT NULL,
    created_at   DATETIME NOT NULL,
    updated_at   DATETIME NOT NULL,
    created_by   BIGINT,
    updated_by   BIGINT,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT product_categories_public_id_key UNIQUE (tenant_id, public_id),
    CONSTRAINT product_categories_name_key UNIQUE (tenant_id, name_key),
    FOREIGN KEY (tenant_id, parent_id) REFERENCES product_categories (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX product_categories_parent_idx ON product_categories (tenant_id, parent_id);

CREATE TABLE products (
    tenant_id        BIGINT NOT NULL,
    id               BIGINT NOT NULL,
    public_id        BLOB NOT NULL,
    sku              TEXT NOT NULL,
    sku_key          TEXT NOT NULL,
    name             TEXT NOT NULL,
    description      TEXT NOT NULL,
    kind             TEXT NOT NULL,
    unit             TEXT NOT NULL,
    category_id      BIGINT,
    currency         TEXT NOT NULL,
    list_price_e4    BIGINT NOT NULL,
    cost_e4          BIGINT NOT NULL,
    tax_category_id  BIGINT,
    weight_kg_e4     BIGINT,
    barcode          TEXT,
    notes            TEXT NOT NULL,
    active           BOOLEAN NOT NULL,
    version          BIGINT NOT NULL,
    created_at       DATETIME NOT NULL,
    updated_at       DATETIME NOT NULL,
    created_by       BIGINT,
    updated_by       BIGINT,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT products_public_id_key UNIQUE (tenant_id, public_id),
    CONSTRAINT products_sku_key UNIQUE (tenant_id, sku_key),
    FOREIGN KEY (tenant_id, category_id) REFERENCES product_categories (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, tax_category_id) REFERENCES tax_categories (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX products_category_idx ON products (tenant_id, category_id);
CREATE INDEX products_tax_category_idx ON products (tenant_id, tax_category_id);

CREATE TABLE warehouses (
    tenant_id            BIGINT NOT NULL,
    id                   BIGINT NOT NULL,
    public_id            BLOB NOT NULL,
    name                 TEXT NOT NULL,
    name_key             TEXT NOT NULL,
    address              TEXT NOT NULL,
    allow_negative_stock BOOLEAN NOT NULL,
    active               BOOLEAN NOT NULL,
    version              BIGINT NOT NULL,
    created_at           DATETIME NOT NULL,
    updated_at           DATETIME NOT NULL,
    created_by           BIGINT,
    updated_by           BIGINT,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT warehouses_public_id_key UNIQUE (tenant_id, public_id),
    CONSTRAINT warehouses_name_key UNIQUE (tenant_id, name_key)
);
