-- Per-field master rules and the sync conflicts they record (SQLite twin of
-- postgres/0023_master_rules.sql). A rule says which system masters one field
-- of a record type ('nave' is Nave itself); a write from another source
-- leaves the field alone and records a conflict with both values as JSON.
CREATE TABLE master_rules (
    tenant_id     BIGINT NOT NULL,
    id            BIGINT NOT NULL,
    public_id     BLOB NOT NULL,
    record_type   TEXT NOT NULL,
    field         TEXT NOT NULL,
    system        TEXT NOT NULL,
    version       BIGINT NOT NULL,
    created_at    DATETIME NOT NULL,
    updated_at    DATETIME NOT NULL,
    updated_by    BIGINT,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT master_rules_public_id_key UNIQUE (tenant_id, public_id),
    CONSTRAINT master_rules_field_key UNIQUE (tenant_id, record_type, field)
);

-- The record is named by its type and key, like attachments; the store
-- deletes a record's conflicts with the record.
CREATE TABLE sync_conflicts (
    tenant_id         BIGINT NOT NULL,
    id                BIGINT NOT NULL,
    public_id         BLOB NOT NULL,
    record_type       TEXT NOT NULL,
    record_id         BIGINT NOT NULL,
    record_public_id  BLOB NOT NULL,
    field             TEXT NOT NULL,
    -- The system that masters the field when the change was refused.
    master            TEXT NOT NULL,
    -- The source of the refused write ('nave' for people in Nave).
    source            TEXT NOT NULL,
    -- JSON texts: the record's value then, and the refused value.
    our_value         TEXT NOT NULL,
    their_value       TEXT NOT NULL,
    status            TEXT NOT NULL,
    occurred_at       DATETIME NOT NULL,
    resolved_at       DATETIME,
    resolved_by       BIGINT,
    version           BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT sync_conflicts_public_id_key UNIQUE (tenant_id, public_id)
);
CREATE INDEX sync_conflicts_record_idx ON sync_conflicts (tenant_id, record_type, record_id, status);
CREATE INDEX sync_conflicts_status_idx ON sync_conflicts (tenant_id, status, id);
