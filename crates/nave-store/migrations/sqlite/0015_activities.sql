-- SQLite twin of postgres/0015_activities.sql.
-- from an account (or, before conversion, a lead) and may name a contact, an
-- opportunity, a case or an order-side document. The account timeline reads
-- them newest first.
CREATE TABLE activities (
    tenant_id         BIGINT NOT NULL,
    id                BIGINT NOT NULL,
    public_id         BLOB NOT NULL,
    kind              TEXT NOT NULL,
    account_id        BIGINT,
    lead_id           BIGINT,
    contact_id        BIGINT,
    opportunity_id    BIGINT,
    case_id           BIGINT,
    document_ref      TEXT,
    subject           TEXT NOT NULL,
    body              TEXT NOT NULL,
    occurred_at       DATETIME NOT NULL,
    ends_at           DATETIME,
    direction         TEXT,
    duration_seconds  BIGINT,
    outcome           TEXT,
    attendees         TEXT NOT NULL,
    email_from        TEXT,
    email_to          TEXT NOT NULL,
    due_date          DATE,
    done              BOOLEAN NOT NULL,
    done_at           DATETIME,
    owner_id          BIGINT,
    version           BIGINT NOT NULL,
    created_at        DATETIME NOT NULL,
    updated_at        DATETIME NOT NULL,
    created_by        BIGINT,
    updated_by        BIGINT,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT activities_public_id_key UNIQUE (tenant_id, public_id),
    CONSTRAINT activities_hang_from_something CHECK (account_id IS NOT NULL OR lead_id IS NOT NULL),
    FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, lead_id) REFERENCES leads (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, opportunity_id) REFERENCES opportunities (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, case_id) REFERENCES cases (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX activities_account_idx ON activities (tenant_id, account_id, occurred_at);
CREATE INDEX activities_lead_idx ON activities (tenant_id, lead_id, occurred_at);
CREATE INDEX activities_contact_idx ON activities (tenant_id, contact_id);
CREATE INDEX activities_opportunity_idx ON activities (tenant_id, opportunity_id);
CREATE INDEX activities_case_idx ON activities (tenant_id, case_id);
CREATE INDEX activities_owner_idx ON activities (tenant_id, owner_id, done, due_date);
