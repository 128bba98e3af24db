-- The search index: the normalised words each record is found by
-- (nave_domain::search), kept in the same transaction as the record. A query
-- word matches a term when it is its beginning: a range scan on the
-- (tenant_id, term) index, the same on both engines (byte order: "C" here,
-- BINARY on SQLite).
CREATE TABLE search_terms (
    tenant_id    BIGINT NOT NULL,
    record_type  TEXT NOT NULL,
    record_id    BIGINT NOT NULL,
    term         TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, record_type, record_id, term)
);
CREATE INDEX search_terms_term_idx ON search_terms (tenant_id, term, record_type, record_id);
