//! The schema, as a list of migrations. `PRAGMA user_version` records how many have run; each runs
//! once, in its own transaction, in order. Never edit a shipped migration: add a new one.

/// Migration `i` takes a database from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: people, places and the audit log.
    r#"
    CREATE TABLE providers (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL
    );
    CREATE TABLE locations (
        id TEXT PRIMARY KEY,
        provider_id TEXT NOT NULL REFERENCES providers(id),
        cqc_location_id TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        address TEXT NOT NULL DEFAULT '',
        service_type TEXT NOT NULL,
        registered_from TEXT NOT NULL,
        registered_to TEXT
    );
    CREATE TABLE users (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        display_name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('monitor', 'lead', 'provider', 'commissioner')),
        provider_id TEXT REFERENCES providers(id),
        password_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        CHECK ((role = 'provider') = (provider_id IS NOT NULL))
    );
    CREATE TABLE tokens (
        token_hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id),
        device_id TEXT NOT NULL UNIQUE,
        device_name TEXT NOT NULL,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    );
    CREATE TABLE caseload (
        monitor_id TEXT NOT NULL REFERENCES users(id),
        location_id TEXT NOT NULL REFERENCES locations(id),
        PRIMARY KEY (monitor_id, location_id)
    );
    CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        user_id TEXT,
        action TEXT NOT NULL,
        subject_type TEXT NOT NULL,
        subject_id TEXT,
        location_id TEXT,
        details TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX audit_by_location ON audit_log(location_id, at);
    CREATE INDEX audit_by_user ON audit_log(user_id, at);
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    "#,
    // 2: visit documents, sync states and photo blobs.
    r#"
    CREATE TABLE documents (
        id TEXT PRIMARY KEY,
        location_id TEXT NOT NULL REFERENCES locations(id),
        created_by TEXT NOT NULL,
        snapshot BLOB NOT NULL,
        heads TEXT NOT NULL,
        chunk_count INTEGER NOT NULL DEFAULT 0,
        chunk_bytes INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX documents_by_location ON documents(location_id);
    CREATE TABLE doc_chunks (
        doc_id TEXT NOT NULL REFERENCES documents(id),
        seq INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (doc_id, seq)
    );
    CREATE TABLE sync_states (
        device_id TEXT NOT NULL,
        doc_id TEXT NOT NULL,
        state BLOB NOT NULL,
        PRIMARY KEY (device_id, doc_id)
    );
    CREATE TABLE blobs (
        hash TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        uploaded_by TEXT NOT NULL,
        uploaded_at TEXT NOT NULL
    );
    CREATE TABLE doc_photos (
        doc_id TEXT NOT NULL REFERENCES documents(id),
        hash TEXT NOT NULL,
        PRIMARY KEY (doc_id, hash)
    );
    CREATE INDEX doc_photos_by_hash ON doc_photos(hash);
    "#,
    // 3: visit lifecycle, the records tiers depend on, determinations and payment runs.
    r#"
    CREATE TABLE visits (
        id TEXT PRIMARY KEY REFERENCES documents(id),
        location_id TEXT NOT NULL REFERENCES locations(id),
        status TEXT NOT NULL CHECK (status IN ('signed_off', 'shared', 'published')),
        current_revision INTEGER NOT NULL,
        shared_on TEXT,
        window_closes_on TEXT,
        provider_confirmed_at TEXT,
        published_on TEXT
    );
    CREATE TABLE visit_revisions (
        visit_id TEXT NOT NULL REFERENCES visits(id),
        revision INTEGER NOT NULL,
        heads TEXT NOT NULL,
        record TEXT NOT NULL,
        signed_by TEXT NOT NULL,
        signed_at TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('accepted', 'pending', 'rejected')),
        decided_by TEXT,
        decided_at TEXT,
        published_on TEXT,
        created_at TEXT NOT NULL,
        PRIMARY KEY (visit_id, revision)
    );
    CREATE TABLE revision_photos (
        visit_id TEXT NOT NULL,
        revision INTEGER NOT NULL,
        hash TEXT NOT NULL,
        PRIMARY KEY (visit_id, revision, hash)
    );
    CREATE INDEX revision_photos_by_hash ON revision_photos(hash);
    CREATE TABLE visit_comments (
        id TEXT PRIMARY KEY,
        visit_id TEXT NOT NULL REFERENCES visits(id),
        revision INTEGER NOT NULL,
        criterion TEXT,
        author_id TEXT NOT NULL REFERENCES users(id),
        body TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE action_responses (
        id TEXT PRIMARY KEY,
        visit_id TEXT NOT NULL REFERENCES visits(id),
        action_id TEXT NOT NULL,
        author_id TEXT NOT NULL REFERENCES users(id),
        body TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE cqc_ratings (id TEXT PRIMARY KEY, location_id TEXT NOT NULL REFERENCES locations(id), data TEXT NOT NULL);
    CREATE TABLE gates (id TEXT PRIMARY KEY, location_id TEXT NOT NULL REFERENCES locations(id), data TEXT NOT NULL);
    CREATE TABLE qualifications (id TEXT PRIMARY KEY, provider_id TEXT NOT NULL REFERENCES providers(id), data TEXT NOT NULL);
    CREATE TABLE placements (id TEXT PRIMARY KEY, location_id TEXT NOT NULL REFERENCES locations(id), data TEXT NOT NULL);
    CREATE TABLE rule_sets (
        version TEXT PRIMARY KEY,
        effective_from TEXT NOT NULL UNIQUE,
        source TEXT NOT NULL,
        created_by TEXT,
        created_at TEXT NOT NULL
    );
    CREATE TABLE determinations (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        location_id TEXT NOT NULL REFERENCES locations(id),
        day TEXT NOT NULL,
        trigger TEXT NOT NULL,
        tier TEXT,
        weekly_pence INTEGER NOT NULL,
        status TEXT NOT NULL,
        explanation TEXT NOT NULL,
        computed_at TEXT NOT NULL
    );
    CREATE INDEX determinations_by_location ON determinations(location_id, seq);
    CREATE TABLE payment_runs (
        period TEXT PRIMARY KEY,
        issued_at TEXT NOT NULL,
        issued_by TEXT NOT NULL,
        lines TEXT NOT NULL
    );
    "#,
    // 4: files a provider attaches to an action response (content-addressed blobs).
    r#"
    CREATE TABLE response_files (
        response_id TEXT NOT NULL REFERENCES action_responses(id),
        hash TEXT NOT NULL,
        name TEXT NOT NULL,
        media_type TEXT NOT NULL,
        size INTEGER NOT NULL,
        PRIMARY KEY (response_id, hash)
    );
    CREATE INDEX response_files_by_hash ON response_files(hash);
    "#,
    // 5: sessions expire (portal sessions and device tokens have their own limits, so a kind),
    // and uploads are counted per uploader for the quota.
    r#"
    ALTER TABLE tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'device';
    ALTER TABLE tokens ADD COLUMN last_used_at TEXT;
    CREATE INDEX blobs_by_uploader ON blobs(uploaded_by);
    "#,
    // 6: people managed from the portal: an email address for notices, one-time passwords that
    // must be changed at the next sign-in, and devices listed per user.
    r#"
    ALTER TABLE users ADD COLUMN email TEXT;
    ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE users ADD COLUMN password_changed_at TEXT;
    CREATE INDEX tokens_by_user ON tokens(user_id, revoked_at);
    CREATE INDEX caseload_by_location ON caseload(location_id);
    "#,
    // 7: CSV files uploaded in the portal, kept from preview to import (the text is cleared once
    // imported or abandoned: placements files hold resident references).
    r#"
    CREATE TABLE import_drafts (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        file_name TEXT NOT NULL,
        text TEXT NOT NULL,
        rows INTEGER NOT NULL,
        created_by TEXT NOT NULL REFERENCES users(id),
        created_at TEXT NOT NULL,
        finished_at TEXT,
        outcome TEXT
    );
    "#,
    // 8: visit planning: planned visits with their monitors, linked to the visit started from
    // each (its status is read from that visit).
    r#"
    CREATE TABLE planned_visits (
        id TEXT PRIMARY KEY,
        location_id TEXT NOT NULL REFERENCES locations(id),
        visit_type TEXT NOT NULL,
        planned_on TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        visit_id TEXT,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        cancelled_at TEXT,
        cancelled_by TEXT,
        cancel_reason TEXT
    );
    CREATE INDEX planned_by_location ON planned_visits(location_id);
    CREATE INDEX planned_by_day ON planned_visits(planned_on);
    CREATE UNIQUE INDEX planned_by_visit ON planned_visits(visit_id) WHERE visit_id IS NOT NULL;
    CREATE TABLE plan_monitors (
        plan_id TEXT NOT NULL REFERENCES planned_visits(id),
        monitor_id TEXT NOT NULL REFERENCES users(id),
        PRIMARY KEY (plan_id, monitor_id)
    );
    CREATE INDEX plan_monitors_by_monitor ON plan_monitors(monitor_id);
    "#,
    // 9: email notices: an outbox written in the event's transaction, sent in the background,
    // and each person's choice of notices (the kinds they turned off).
    r#"
    ALTER TABLE users ADD COLUMN notice_optout TEXT NOT NULL DEFAULT '';
    CREATE TABLE notices (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        user_id TEXT NOT NULL REFERENCES users(id),
        to_address TEXT NOT NULL,
        subject TEXT NOT NULL,
        body TEXT NOT NULL,
        link TEXT NOT NULL,
        once_key TEXT UNIQUE,
        state TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'failed', 'skipped')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error TEXT,
        created_at TEXT NOT NULL,
        sent_at TEXT
    );
    CREATE INDEX notices_due ON notices(state, next_attempt_at);
    CREATE INDEX notices_by_time ON notices(created_at);
    "#,
    // 10: indexes for reading one location's records at national scale (every list, the due
    // list and every re-determination reads them by location; without these each read scanned
    // whole tables: minutes for 15,000 locations).
    r#"
    CREATE INDEX visits_by_location ON visits(location_id);
    CREATE INDEX cqc_ratings_by_location ON cqc_ratings(location_id);
    CREATE INDEX gates_by_location ON gates(location_id);
    CREATE INDEX qualifications_by_provider ON qualifications(provider_id);
    CREATE INDEX placements_by_location ON placements(location_id);
    CREATE INDEX locations_by_provider ON locations(provider_id);
    CREATE INDEX providers_by_name ON providers(name);
    "#,
    // 11: draft rule sets a commissioner saves from the rules form before adopting one; stored as
    // TOML, the format rule sets are stored and exported in.
    r#"
    CREATE TABLE rule_set_drafts (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        source TEXT NOT NULL,
        created_by TEXT NOT NULL REFERENCES users(id),
        created_at TEXT NOT NULL,
        updated_by TEXT NOT NULL REFERENCES users(id),
        updated_at TEXT NOT NULL
    );
    "#,
    // 12: contracts for withhold and release, one row each with its
    // terms as JSON; and the contract period lines kept when a month is issued, as premium lines
    // are.
    r#"
    CREATE TABLE contracts (
        id TEXT PRIMARY KEY,
        reference TEXT NOT NULL UNIQUE,
        provider_id TEXT NOT NULL REFERENCES providers(id),
        location_id TEXT REFERENCES locations(id),
        data TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX contracts_by_provider ON contracts(provider_id);
    ALTER TABLE payment_runs ADD COLUMN releases TEXT NOT NULL DEFAULT '[]';
    "#,
    // 13: the market view's figures, materialised per location, so the pages read them with SQL aggregates instead of re-running the engine for every
    // location (seconds at national scale). `market_dirty` lists locations whose figures must be
    // recomputed (marked in the transaction that re-determines them; `seq` grows with every mark
    // so a refresh that read older records leaves the mark in place). Months are `YYYY-MM`;
    // percentages are stored in tenths of a percent for display only (tiers are decided exactly
    // elsewhere); money is pence.
    r#"
    CREATE TABLE market_dirty (
        location_id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL
    );
    CREATE TABLE market_state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE market_locations (
        location_id TEXT PRIMARY KEY REFERENCES locations(id),
        figures_on TEXT NOT NULL,
        tier TEXT,
        tier_rank INTEGER NOT NULL,
        status TEXT NOT NULL,
        weekly_pence INTEGER NOT NULL,
        overall_tenths INTEGER,
        lowest_domain_tenths INTEGER,
        pack_id TEXT,
        pack_version TEXT,
        criteria TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX market_locations_worst ON market_locations(lowest_domain_tenths, overall_tenths, location_id, tier);
    CREATE TABLE market_tiers (
        location_id TEXT NOT NULL,
        month TEXT NOT NULL,
        tier TEXT NOT NULL,
        tier_rank INTEGER NOT NULL,
        PRIMARY KEY (location_id, month)
    ) WITHOUT ROWID;
    CREATE INDEX market_tiers_by_month ON market_tiers(month, tier, tier_rank);
    CREATE TABLE market_spend (
        location_id TEXT NOT NULL,
        month TEXT NOT NULL,
        tier TEXT NOT NULL,
        tier_rank INTEGER NOT NULL,
        committed INTEGER NOT NULL,
        paid_pence INTEGER NOT NULL,
        on_hold_pence INTEGER NOT NULL,
        PRIMARY KEY (location_id, month, tier)
    ) WITHOUT ROWID;
    CREATE INDEX market_spend_by_month ON market_spend(month, tier, committed, tier_rank, paid_pence, on_hold_pence);
    CREATE TABLE market_domains (
        location_id TEXT NOT NULL,
        domain_id TEXT NOT NULL,
        title TEXT NOT NULL,
        position INTEGER NOT NULL,
        tenths INTEGER NOT NULL,
        lowest INTEGER NOT NULL,
        PRIMARY KEY (location_id, domain_id)
    ) WITHOUT ROWID;
    CREATE INDEX market_domains_by_domain ON market_domains(domain_id, position, title, tenths, lowest);
    CREATE TABLE market_criteria (
        pack_id TEXT NOT NULL,
        pack_version TEXT NOT NULL,
        criterion_id TEXT NOT NULL,
        score INTEGER NOT NULL,
        locations INTEGER NOT NULL,
        PRIMARY KEY (pack_id, pack_version, criterion_id, score)
    ) WITHOUT ROWID;
    "#,
    // 14: appeals against published visits, and records retention: a tombstone for each visit
    // removed under the retention schedule, with the scores its determinations rest on.
    r#"
    CREATE TABLE appeals (
        id TEXT PRIMARY KEY,
        visit_id TEXT NOT NULL,
        location_id TEXT NOT NULL REFERENCES locations(id),
        lodged_by TEXT NOT NULL REFERENCES users(id),
        lodged_at TEXT NOT NULL,
        grounds TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('open', 'upheld', 'dismissed', 'withdrawn')),
        decided_by TEXT REFERENCES users(id),
        decided_at TEXT,
        reason TEXT
    );
    CREATE INDEX appeals_by_visit ON appeals(visit_id, status);
    CREATE INDEX appeals_by_location ON appeals(location_id, lodged_at);
    CREATE UNIQUE INDEX appeals_one_open ON appeals(visit_id) WHERE status = 'open';
    CREATE TABLE retention_tombstones (
        visit_id TEXT PRIMARY KEY,
        location_id TEXT NOT NULL REFERENCES locations(id),
        published_on TEXT,
        removed_on TEXT NOT NULL,
        rule_version TEXT NOT NULL
    );
    CREATE TABLE retention_results (
        visit_id TEXT NOT NULL REFERENCES retention_tombstones(visit_id),
        revision INTEGER NOT NULL,
        published_on TEXT NOT NULL,
        record TEXT NOT NULL,
        PRIMARY KEY (visit_id, revision)
    );
    CREATE TABLE retention_rules (
        version TEXT PRIMARY KEY,
        effective_from TEXT NOT NULL UNIQUE,
        data TEXT NOT NULL,
        created_by TEXT REFERENCES users(id),
        created_at TEXT NOT NULL
    );
    "#,
];
