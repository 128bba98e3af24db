-- The search index (SQLite twin of postgres/0014_search.sql).
CREATE TABLE search_terms (
    tenant_id    BIGINT NOT NULL,
    record_type  TEXT NOT NULL,
    record_id    BIGINT NOT NULL,
    term         TEXT NOT NULL,
    PRIMARY KEY (tenant_id, record_type, record_id, term)
);
CREATE INDEX search_terms_term_idx ON search_terms (tenant_id, term, record_type, record_id);
