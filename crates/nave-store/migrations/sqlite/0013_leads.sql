-- SQLite twin of postgres/0013_leads.sql.
-- qualified lead creates (or links) an account, a contact and optionally an
-- opportunity, and keeps the links here.
CREATE TABLE leads (
    tenant_id           BIGINT NOT NULL,
    id                  BIGINT NOT NULL,
    public_id           BLOB NOT NULL,
    company             TEXT NOT NULL,
    first_name          TEXT NOT NULL,
    last_name           TEXT NOT NULL,
    title               TEXT NOT NULL,
    email               TEXT,
    phone               TEXT,
    website             TEXT,
    source              TEXT NOT NULL,
    status              TEXT NOT NULL,
    notes               TEXT NOT NULL,
    estimated_minor     BIGINT,
    currency            TEXT NOT NULL,
    owner_id            BIGINT,
    team_id             BIGINT,
    converted_at        DATETIME,
    account_id          BIGINT,
    contact_id          BIGINT,
    opportunity_id      BIGINT,
    version             BIGINT NOT NULL,
    created_at          DATETIME NOT NULL,
    updated_at          DATETIME NOT NULL,
    created_by          BIGINT,
    updated_by          BIGINT,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT leads_public_id_key UNIQUE (tenant_id, public_id),
    FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, opportunity_id) REFERENCES opportunities (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX leads_owner_idx ON leads (tenant_id, owner_id, id);
CREATE INDEX leads_team_idx ON leads (tenant_id, team_id, id);
CREATE INDEX leads_status_idx ON leads (tenant_id, status, id);
CREATE INDEX leads_account_idx ON leads (tenant_id, account_id);
CREATE INDEX leads_contact_idx ON leads (tenant_id, contact_id);
CREATE INDEX leads_opportunity_idx ON leads (tenant_id, opportunity_id);
