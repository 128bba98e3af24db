-- Taxes and tax categories (SQLite twin of postgres/0003_taxes.sql).
CREATE TABLE taxes (
    tenant_id    BIGINT NOT NULL,
    id           BIGINT NOT NULL,
    public_id    BLOB NOT NULL,
    name         TEXT NOT NULL,
    name_key     TEXT NOT NULL,
    rate_e4      BIGINT NOT NULL,
    valid_from   DATE,
    valid_to     DATE,
    active       BOOLEAN NOT NULL,
    version      BIGINT NOT NULL,
    created_at   DATETIME NOT NULL,
    updated_at   DATETIME NOT NULL,
    created_by   BIGINT,
    updated_by   BIGINT,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT taxes_public_id_key UNIQUE (tenant_id, public_id),
    CONSTRAINT taxes_name_key UNIQUE (tenant_id, name_key)
);

CREATE TABLE tax_categories (
    tenant_id    BIGINT NOT NULL,
    id           BIGINT NOT NULL,
    public_id    BLOB NOT NULL,
    name         TEXT NOT NULL,
    name_key     TEXT NOT NULL,
    version      BIGINT NOT NULL,
    created_at   DATETIME NOT NULL,
    updated_at   DATETIME NOT NULL,
    created_by   BIGINT,
    updated_by   BIGINT,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT tax_categories_public_id_key UNIQUE (tenant_id, public_id),
    CONSTRAINT tax_categories_name_key UNIQUE (tenant_id, name_key)
);

CREATE TABLE tax_category_taxes (
    tenant_id    BIGINT NOT NULL,
    category_id  BIGINT NOT NULL,
    tax_id       BIGINT NOT NULL,
    position     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, category_id, tax_id),
    FOREIGN KEY (tenant_id, category_id) REFERENCES tax_categories (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, tax_id) REFERENCES taxes (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX tax_category_taxes_tax_idx ON tax_category_taxes (tenant_id, tax_id);
