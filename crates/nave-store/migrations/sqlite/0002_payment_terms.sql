-- Payment terms (SQLite twin of postgres/0002_payment_terms.sql).
CREATE TABLE payment_terms (
    tenant_id    BIGINT NOT NULL,
    id           BIGINT NOT NULL,
    public_id    BLOB NOT NULL,
    name         TEXT NOT NULL,
    name_key     TEXT NOT NULL,
    instalments  TEXT NOT NULL,
    active       BOOLEAN NOT NULL,
    version      BIGINT NOT NULL,
    created_at   DATETIME NOT NULL,
    updated_at   DATETIME NOT NULL,
    created_by   BIGINT,
    updated_by   BIGINT,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT payment_terms_public_id_key UNIQUE (tenant_id, public_id),
    CONSTRAINT payment_terms_name_key UNIQUE (tenant_id, name_key)
);
