-- Saved list views (SQLite twin of postgres/0024_saved_views.sql): a user's named filters of
-- a list page, with the columns chosen, kept as the page's query string.
CREATE TABLE saved_views (
    tenant_id    BIGINT NOT NULL,
    id           BIGINT NOT NULL,
    public_id    BLOB NOT NULL,
    user_id      BIGINT NOT NULL,
    -- The list page's path without the slash: accounts, contacts, ...
    list         TEXT NOT NULL,
    name         TEXT NOT NULL,
    query        TEXT NOT NULL,
    created_at   DATETIME NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT saved_views_public_id_key UNIQUE (tenant_id, public_id),
    CONSTRAINT saved_views_name_key UNIQUE (tenant_id, user_id, list, name),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
