-- Documents attached to records (SQLite twin of postgres/0012_attachments.sql).
CREATE TABLE attachments (
    tenant_id         BIGINT NOT NULL,
    id                BIGINT NOT NULL,
    public_id         BLOB NOT NULL,
    record_type       TEXT NOT NULL,
    record_id         BIGINT NOT NULL,
    record_public_id  BLOB NOT NULL,
    file_id           BIGINT NOT NULL,
    filename          TEXT NOT NULL,
    description       TEXT NOT NULL,
    created_at        DATETIME NOT NULL,
    created_by        BIGINT,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT attachments_public_id_key UNIQUE (tenant_id, public_id),
    FOREIGN KEY (tenant_id, file_id) REFERENCES stored_files (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX attachments_record_idx ON attachments (tenant_id, record_type, record_id);
CREATE INDEX attachments_file_idx ON attachments (tenant_id, file_id);
