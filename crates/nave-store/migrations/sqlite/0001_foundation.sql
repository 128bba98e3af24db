-- Foundation: tenants, users, roles, teams, tokens, sessions, audit, events,
-- idempotency keys, and the first business record (accounts).
-- SQLite twin of postgres/0001_foundation.sql (compared by a test).
-- Rules (tested by schema_rules): every business table is keyed by tenant_id
-- first; money is BIGINT minor units; no REAL/FLOAT/NUMERIC; every foreign key
-- is indexed and says what happens on delete.

CREATE TABLE tenants (
    id          INTEGER PRIMARY KEY,
    public_id   BLOB NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  DATETIME NOT NULL
);

CREATE TABLE tenant_counters (
    tenant_id       BIGINT NOT NULL,
    event_position  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id)
);

CREATE TABLE teams (
    tenant_id   BIGINT NOT NULL,
    id          BIGINT NOT NULL,
    public_id   BLOB NOT NULL,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    version     BIGINT NOT NULL,
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL,
    created_by  BIGINT,
    updated_by  BIGINT,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT teams_public_id_key UNIQUE (tenant_id, public_id),
    CONSTRAINT teams_name_key UNIQUE (tenant_id, name_key)
);

CREATE TABLE roles (
    tenant_id   BIGINT NOT NULL,
    id          BIGINT NOT NULL,
    public_id   BLOB NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    builtin     BOOLEAN NOT NULL,
    version     BIGINT NOT NULL,
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL,
    created_by  BIGINT,
    updated_by  BIGINT,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT roles_public_id_key UNIQUE (tenant_id, public_id),
    CONSTRAINT roles_name_key UNIQUE (tenant_id, name)
);

CREATE TABLE role_permissions (
    tenant_id   BIGINT NOT NULL,
    role_id     BIGINT NOT NULL,
    record_type TEXT NOT NULL,
    action      TEXT NOT NULL,
    scope       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, role_id, record_type, action),
    FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE role_capabilities (
    tenant_id   BIGINT NOT NULL,
    role_id     BIGINT NOT NULL,
    capability  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, role_id, capability),
    FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE users (
    tenant_id     BIGINT NOT NULL,
    id            BIGINT NOT NULL,
    public_id     BLOB NOT NULL,
    email         TEXT NOT NULL,
    email_key     TEXT NOT NULL,
    name          TEXT NOT NULL,
    password_hash TEXT,
    role_id       BIGINT NOT NULL,
    team_id       BIGINT,
    active        BOOLEAN NOT NULL,
    locale        TEXT NOT NULL,
    version       BIGINT NOT NULL,
    created_at    DATETIME NOT NULL,
    updated_at    DATETIME NOT NULL,
    created_by    BIGINT,
    updated_by    BIGINT,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT users_public_id_key UNIQUE (tenant_id, public_id),
    CONSTRAINT users_email_key UNIQUE (tenant_id, email_key),
    FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX users_role_idx ON users (tenant_id, role_id);
CREATE INDEX users_team_idx ON users (tenant_id, team_id);

CREATE TABLE api_tokens (
    tenant_id     BIGINT NOT NULL,
    id            BIGINT NOT NULL,
    public_id     BLOB NOT NULL,
    user_id       BIGINT NOT NULL,
    name          TEXT NOT NULL,
    prefix        TEXT NOT NULL,
    token_hash    TEXT NOT NULL,
    source_system TEXT,
    expires_at    DATETIME,
    revoked_at    DATETIME,
    last_used_at  DATETIME,
    version       BIGINT NOT NULL,
    created_at    DATETIME NOT NULL,
    updated_at    DATETIME NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT api_tokens_public_id_key UNIQUE (tenant_id, public_id),
    CONSTRAINT api_tokens_hash_key UNIQUE (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX api_tokens_user_idx ON api_tokens (tenant_id, user_id);

CREATE TABLE sessions (
    tenant_id   BIGINT NOT NULL,
    id          BIGINT NOT NULL,
    token_hash  TEXT NOT NULL,
    user_id     BIGINT NOT NULL,
    created_at  DATETIME NOT NULL,
    expires_at  DATETIME NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT sessions_hash_key UNIQUE (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX sessions_user_idx ON sessions (tenant_id, user_id);
-- The janitor removes expired sessions across tenants.
CREATE INDEX sessions_expiry_idx ON sessions (expires_at);

CREATE TABLE audit_entries (
    tenant_id      BIGINT NOT NULL,
    id             BIGINT NOT NULL,
    occurred_at    DATETIME NOT NULL,
    actor_user_id  BIGINT,
    actor_token_id BIGINT,
    source         TEXT,
    request_id     TEXT,
    record_type    TEXT NOT NULL,
    record_id      BLOB NOT NULL,
    action         TEXT NOT NULL,
    changes        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_entries_record_idx ON audit_entries (tenant_id, record_id, id);

CREATE TABLE events (
    tenant_id    BIGINT NOT NULL,
    position     BIGINT NOT NULL,
    public_id    BLOB NOT NULL,
    event_type   TEXT NOT NULL,
    record_type  TEXT NOT NULL,
    record_id    BLOB NOT NULL,
    version      BIGINT NOT NULL,
    occurred_at  DATETIME NOT NULL,
    source       TEXT,
    payload      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, position)
);
CREATE INDEX events_record_idx ON events (tenant_id, record_id, position);

CREATE TABLE idempotency_keys (
    tenant_id     BIGINT NOT NULL,
    user_id       BIGINT NOT NULL,
    idem_key      TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status_code   BIGINT,
    response_body TEXT,
    created_at    DATETIME NOT NULL,
    PRIMARY KEY (tenant_id, user_id, idem_key),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
-- The janitor forgets keys older than a day, across tenants.
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

CREATE TABLE accounts (
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
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT accounts_public_id_key UNIQUE (tenant_id, public_id),
    FOREIGN KEY (tenant_id, parent_id) REFERENCES accounts (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX accounts_parent_idx ON accounts (tenant_id, parent_id);
CREATE INDEX accounts_owner_idx ON accounts (tenant_id, owner_id, id);
CREATE INDEX accounts_team_idx ON accounts (tenant_id, team_id, id);
