-- Accounts completed and contacts (SQLite twin of postgres/0010_accounts_contacts.sql).
-- SQLite cannot add a foreign key to an existing table, so `accounts` is rebuilt
-- the way SQLite documents it: a new table, the rows copied, the old table
-- dropped, the new one renamed. The migration runner switches foreign-key
-- enforcement off for this and checks every reference before committing.
CREATE TABLE accounts_new (
    tenant_id          BIGINT NOT NULL,
    id                 BIGINT NOT NULL,
    public_id          BLOB NOT NULL,
    name               TEXT NOT NULL,
    kinds              TEXT NOT NULL,
    parent_id          BIGINT,
    owner_id           BIGINT,
    team_id            BIGINT,
    currency           TEXT NOT NULL,
    credit_limit_minor BIGINT,
    tax_id             TEXT,
    tags               TEXT NOT NULL,
    archived           BOOLEAN NOT NULL,
    version            BIGINT NOT NULL,
    created_at         DATETIME NOT NULL,
    updated_at         DATETIME NOT NULL,
    created_by         BIGINT,
    updated_by         BIGINT,
    tax_treatment      TEXT NOT NULL DEFAULT 'standard',
    industry           TEXT,
    website            TEXT,
    phone              TEXT,
    payment_terms_id   BIGINT,
    notes              TEXT NOT NULL DEFAULT '',
    -- Duplicate detection keys (see the PostgreSQL twin).
    name_key           TEXT NOT NULL DEFAULT '',
    website_domain     TEXT,
    phone_key          TEXT,
    tax_id_key         TEXT,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT accounts_public_id_key UNIQUE (tenant_id, public_id),
    FOREIGN KEY (tenant_id, parent_id) REFERENCES accounts (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, payment_terms_id) REFERENCES payment_terms (tenant_id, id) ON DELETE RESTRICT
);
INSERT INTO accounts_new (tenant_id, id, public_id, name, kinds, parent_id, owner_id, team_id, currency,
    credit_limit_minor, tax_id, tags, archived, version, created_at, updated_at, created_by, updated_by,
    tax_treatment, notes, name_key)
SELECT tenant_id, id, public_id, name, kinds, parent_id, owner_id, team_id, currency,
    credit_limit_minor, tax_id, tags, archived, version, created_at, updated_at, created_by, updated_by,
    tax_treatment, '', lower(name)
FROM accounts;
DROP TABLE accounts;
ALTER TABLE accounts_new RENAME TO accounts;
CREATE INDEX accounts_parent_idx ON accounts (tenant_id, parent_id);
CREATE INDEX accounts_owner_idx ON accounts (tenant_id, owner_id, id);
CREATE INDEX accounts_team_idx ON accounts (tenant_id, team_id, id);
CREATE INDEX accounts_payment_terms_idx ON accounts (tenant_id, payment_terms_id);
CREATE INDEX accounts_name_key_idx ON accounts (tenant_id, name_key);
CREATE INDEX accounts_website_domain_idx ON accounts (tenant_id, website_domain);
CREATE INDEX accounts_phone_key_idx ON accounts (tenant_id, phone_key);
CREATE INDEX accounts_tax_id_key_idx ON accounts (tenant_id, tax_id_key);

CREATE TABLE account_addresses (
    tenant_id            BIGINT NOT NULL,
    account_id           BIGINT NOT NULL,
    position             BIGINT NOT NULL,
    label                TEXT NOT NULL,
    line1                TEXT NOT NULL,
    line2                TEXT,
    city                 TEXT NOT NULL,
    region               TEXT,
    postal_code          TEXT,
    country              TEXT NOT NULL,
    is_default_billing   BOOLEAN NOT NULL,
    is_default_shipping  BOOLEAN NOT NULL,
    PRIMARY KEY (tenant_id, account_id, position),
    FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id) ON DELETE CASCADE
);
-- At most one default of each kind per account.
CREATE UNIQUE INDEX account_addresses_billing_key ON account_addresses (tenant_id, account_id) WHERE is_default_billing;
CREATE UNIQUE INDEX account_addresses_shipping_key ON account_addresses (tenant_id, account_id) WHERE is_default_shipping;

CREATE TABLE account_external_ids (
    tenant_id    BIGINT NOT NULL,
    account_id   BIGINT NOT NULL,
    system       TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, account_id, system),
    CONSTRAINT account_external_ids_system_key UNIQUE (tenant_id, system, external_id),
    FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE contacts (
    tenant_id          BIGINT NOT NULL,
    id                 BIGINT NOT NULL,
    public_id          BLOB NOT NULL,
    account_id         BIGINT NOT NULL,
    first_name         TEXT NOT NULL,
    last_name          TEXT NOT NULL,
    title              TEXT,
    phones             TEXT NOT NULL,
    address            TEXT,
    is_primary         BOOLEAN NOT NULL,
    marketing_consent  BOOLEAN NOT NULL,
    consent_at         DATETIME,
    consent_source     TEXT,
    owner_id           BIGINT,
    archived           BOOLEAN NOT NULL,
    version            BIGINT NOT NULL,
    created_at         DATETIME NOT NULL,
    updated_at         DATETIME NOT NULL,
    created_by         BIGINT,
    updated_by         BIGINT,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT contacts_public_id_key UNIQUE (tenant_id, public_id),
    FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX contacts_account_idx ON contacts (tenant_id, account_id, id);
CREATE INDEX contacts_owner_idx ON contacts (tenant_id, owner_id);
-- One primary contact per account.
CREATE UNIQUE INDEX contacts_primary_key ON contacts (tenant_id, account_id) WHERE is_primary;

CREATE TABLE contact_emails (
    tenant_id   BIGINT NOT NULL,
    contact_id  BIGINT NOT NULL,
    position    BIGINT NOT NULL,
    email       TEXT NOT NULL,
    email_key   TEXT NOT NULL,
    domain      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, contact_id, position),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX contact_emails_key_idx ON contact_emails (tenant_id, email_key);
CREATE INDEX contact_emails_domain_idx ON contact_emails (tenant_id, domain);

CREATE TABLE contact_external_ids (
    tenant_id    BIGINT NOT NULL,
    contact_id   BIGINT NOT NULL,
    system       TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, contact_id, system),
    CONSTRAINT contact_external_ids_system_key UNIQUE (tenant_id, system, external_id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE CASCADE
);
