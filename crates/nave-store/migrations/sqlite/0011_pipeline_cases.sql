-- The sales pipeline and service cases (SQLite twin of postgres/0011_pipeline_cases.sql).
CREATE TABLE pipeline_stages (
    tenant_id    BIGINT NOT NULL,
    id           BIGINT NOT NULL,
    public_id    BLOB NOT NULL,
    name         TEXT NOT NULL,
    name_key     TEXT NOT NULL,
    position     BIGINT NOT NULL,
    probability  BIGINT NOT NULL,
    kind         TEXT NOT NULL,
    version      BIGINT NOT NULL,
    created_at   DATETIME NOT NULL,
    updated_at   DATETIME NOT NULL,
    created_by   BIGINT,
    updated_by   BIGINT,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT pipeline_stages_public_id_key UNIQUE (tenant_id, public_id),
    CONSTRAINT pipeline_stages_name_key UNIQUE (tenant_id, name_key)
);

CREATE TABLE opportunities (
    tenant_id       BIGINT NOT NULL,
    id              BIGINT NOT NULL,
    public_id       BLOB NOT NULL,
    account_id      BIGINT NOT NULL,
    name            TEXT NOT NULL,
    stage_id        BIGINT NOT NULL,
    probability     BIGINT NOT NULL,
    amount_minor    BIGINT NOT NULL,
    currency        TEXT NOT NULL,
    expected_close  DATE NOT NULL,
    owner_id        BIGINT,
    team_id         BIGINT,
    source          TEXT,
    description     TEXT NOT NULL,
    closed_at       DATETIME,
    lost_reason     TEXT,
    won_reason      TEXT,
    version         BIGINT NOT NULL,
    created_at      DATETIME NOT NULL,
    updated_at      DATETIME NOT NULL,
    created_by      BIGINT,
    updated_by      BIGINT,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT opportunities_public_id_key UNIQUE (tenant_id, public_id),
    FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, stage_id) REFERENCES pipeline_stages (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX opportunities_account_idx ON opportunities (tenant_id, account_id, id);
CREATE INDEX opportunities_stage_idx ON opportunities (tenant_id, stage_id, expected_close);
CREATE INDEX opportunities_owner_idx ON opportunities (tenant_id, owner_id, id);
CREATE INDEX opportunities_team_idx ON opportunities (tenant_id, team_id, id);

-- One row per stage an opportunity reached, written with the change. Stages
-- are kept as snapshots (public id and name), so history survives a stage's
-- rename or deletion.
CREATE TABLE opportunity_stage_history (
    tenant_id        BIGINT NOT NULL,
    id               BIGINT NOT NULL,
    opportunity_id   BIGINT NOT NULL,
    from_stage_id    BLOB,
    from_stage_name  TEXT,
    to_stage_id      BLOB NOT NULL,
    to_stage_name    TEXT NOT NULL,
    to_kind          TEXT NOT NULL,
    probability      BIGINT NOT NULL,
    changed_at       DATETIME NOT NULL,
    changed_by       BIGINT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, opportunity_id) REFERENCES opportunities (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX opportunity_stage_history_opportunity_idx ON opportunity_stage_history (tenant_id, opportunity_id, id);

CREATE TABLE cases (
    tenant_id               BIGINT NOT NULL,
    id                      BIGINT NOT NULL,
    public_id               BLOB NOT NULL,
    account_id              BIGINT NOT NULL,
    subject                 TEXT NOT NULL,
    description             TEXT NOT NULL,
    kind                    TEXT NOT NULL,
    priority                TEXT NOT NULL,
    status                  TEXT NOT NULL,
    assignee_id             BIGINT,
    team_id                 BIGINT,
    product_id              BIGINT,
    document_type           TEXT,
    document_ref            TEXT,
    resolution              TEXT,
    satisfaction            BIGINT,
    satisfaction_comment    TEXT,
    first_response_at       DATETIME,
    first_response_seconds  BIGINT,
    resolved_at             DATETIME,
    resolution_seconds      BIGINT,
    closed_at               DATETIME,
    version                 BIGINT NOT NULL,
    created_at              DATETIME NOT NULL,
    updated_at              DATETIME NOT NULL,
    created_by              BIGINT,
    updated_by              BIGINT,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT cases_public_id_key UNIQUE (tenant_id, public_id),
    FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, assignee_id) REFERENCES users (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX cases_account_idx ON cases (tenant_id, account_id, id);
CREATE INDEX cases_assignee_idx ON cases (tenant_id, assignee_id, id);
CREATE INDEX cases_team_idx ON cases (tenant_id, team_id, id);
CREATE INDEX cases_product_idx ON cases (tenant_id, product_id);
CREATE INDEX cases_status_idx ON cases (tenant_id, status, id);
