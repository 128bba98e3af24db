-- The company's own details printed on every document (SQLite twin of
-- postgres/0020_company_settings.sql): one row per tenant, made on first save
-- (until then documents print the tenant's name). The logo is a stored file.
CREATE TABLE company_settings (
    tenant_id                 BIGINT NOT NULL,
    public_id                 BLOB NOT NULL,
    legal_name                TEXT NOT NULL,
    -- Postal address, one line per line.
    address                   TEXT NOT NULL,
    tax_id                    TEXT,
    email                     TEXT,
    phone                     TEXT,
    logo_file_id              BIGINT,
    -- Receiving and billing more than ordered on a purchase-order line is
    -- allowed up to this percent of the ordered quantity, in tenths (50 = 5.0 %).
    receiving_tolerance_e1    BIGINT NOT NULL DEFAULT 0,
    version                   BIGINT NOT NULL,
    updated_at                DATETIME NOT NULL,
    updated_by                BIGINT,
    PRIMARY KEY (tenant_id),
    FOREIGN KEY (tenant_id, logo_file_id) REFERENCES stored_files (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX company_settings_logo_idx ON company_settings (tenant_id, logo_file_id);
