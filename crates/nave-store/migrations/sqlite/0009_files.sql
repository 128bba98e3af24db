-- Stored files, product pictures and products' external ids (SQLite twin of postgres/0009_files.sql).
-- `data` is declared BYTEA, not BLOB: BLOB here means a uuid (see schema.rs); SQLite keeps blob values as they are under any declared type.
CREATE TABLE stored_files (
    tenant_id     BIGINT NOT NULL,
    id            BIGINT NOT NULL,
    public_id     BLOB NOT NULL,
    content_type  TEXT NOT NULL,
    byte_size     BIGINT NOT NULL,
    sha256        TEXT NOT NULL,
    data          BYTEA NOT NULL,
    created_at    DATETIME NOT NULL,
    created_by    BIGINT,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT stored_files_public_id_key UNIQUE (tenant_id, public_id)
);

CREATE TABLE product_pictures (
    tenant_id          BIGINT NOT NULL,
    product_id         BIGINT NOT NULL,
    file_id            BIGINT NOT NULL,
    thumbnail_file_id  BIGINT NOT NULL,
    width              BIGINT NOT NULL,
    height             BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, product_id),
    FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, file_id) REFERENCES stored_files (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, thumbnail_file_id) REFERENCES stored_files (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX product_pictures_file_idx ON product_pictures (tenant_id, file_id);
CREATE INDEX product_pictures_thumbnail_idx ON product_pictures (tenant_id, thumbnail_file_id);

CREATE TABLE product_external_ids (
    tenant_id    BIGINT NOT NULL,
    product_id   BIGINT NOT NULL,
    system       TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, product_id, system),
    CONSTRAINT product_external_ids_system_key UNIQUE (tenant_id, system, external_id),
    FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id) ON DELETE CASCADE
);
