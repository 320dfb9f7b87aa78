//! The schema and its migrations, applied in order on open; `PRAGMA user_version` records the
//! last one applied. Never edit a migration that has shipped: add one.

use rusqlite::Connection;

/// Migration `i` takes the database from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // v1: runs and phases.
    "CREATE TABLE runs (
        build_id TEXT PRIMARY KEY,
        project TEXT NOT NULL,
        backend TEXT NOT NULL,
        image TEXT,
        source_version TEXT,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        status TEXT NOT NULL,
        exit_code INTEGER,
        duration_ms INTEGER,
        writer_pid INTEGER,
        log_path TEXT
    );
    CREATE INDEX runs_by_project ON runs (project, backend, started_at);
    CREATE TABLE phases (
        build_id TEXT NOT NULL REFERENCES runs (build_id) ON DELETE CASCADE,
        phase TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        status TEXT NOT NULL,
        started_at TEXT,
        ended_at TEXT,
        duration_ms INTEGER,
        context_code TEXT NOT NULL DEFAULT '',
        context_message TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (build_id, phase, attempt)
    );",
    // v2: the interrupted flag, log sizes for pruning, cache reports, regressions.
    "ALTER TABLE runs ADD COLUMN interrupted INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN log_bytes INTEGER;
    CREATE TABLE cache_reports (
        build_id TEXT NOT NULL REFERENCES runs (build_id) ON DELETE CASCADE,
        docker_build INTEGER NOT NULL,
        image TEXT,
        builder TEXT NOT NULL,
        steps_total INTEGER NOT NULL,
        steps_cached INTEGER NOT NULL,
        finished INTEGER NOT NULL,
        report TEXT NOT NULL,
        PRIMARY KEY (build_id, docker_build)
    );
    CREATE TABLE cache_steps (
        build_id TEXT NOT NULL REFERENCES runs (build_id) ON DELETE CASCADE,
        docker_build INTEGER NOT NULL,
        position INTEGER NOT NULL,
        step INTEGER NOT NULL,
        instruction TEXT NOT NULL,
        cached INTEGER NOT NULL,
        duration_ms INTEGER,
        PRIMARY KEY (build_id, docker_build, position)
    );
    CREATE INDEX cache_steps_by_instruction ON cache_steps (instruction, cached);
    CREATE TABLE regressions (
        build_id TEXT NOT NULL REFERENCES runs (build_id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        phase TEXT,
        kind TEXT NOT NULL,
        message TEXT NOT NULL,
        baseline REAL NOT NULL,
        current REAL NOT NULL,
        baseline_runs INTEGER NOT NULL,
        PRIMARY KEY (build_id, seq)
    );",
    // v3: a build's exported variables (`env.exported-variables`), a JSON object; masked
    // values are stored as `***`, as the build event carries them.
    "ALTER TABLE runs ADD COLUMN exported_variables TEXT NOT NULL DEFAULT '{}';",
    // v4: how the build reached Docker (`DockerAccess` as in `.cbdash.toml`; NULL: not known).
    "ALTER TABLE runs ADD COLUMN docker TEXT;",
    // v5: batches. A batch row per batch id (a resume or retry counts up `attempts` on the
    // same row), its nodes in the order the batch lists them, and each node's builds per
    // attempt. A child build's run row names its batch and node; regressions of a child
    // compare it with earlier builds of the same node (`runs_by_task`).
    "CREATE TABLE batches (
        batch_id TEXT PRIMARY KEY,
        project TEXT NOT NULL,
        backend TEXT NOT NULL,
        kind TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        status TEXT NOT NULL,
        duration_ms INTEGER,
        attempts INTEGER NOT NULL DEFAULT 1,
        writer_pid INTEGER,
        interrupted INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX batches_by_project ON batches (project, started_at);
    CREATE TABLE batch_nodes (
        batch_id TEXT NOT NULL REFERENCES batches (batch_id) ON DELETE CASCADE,
        identifier TEXT NOT NULL,
        position INTEGER NOT NULL,
        depends_on TEXT NOT NULL DEFAULT '[]',
        ignore_failure INTEGER NOT NULL DEFAULT 0,
        label TEXT,
        status TEXT NOT NULL DEFAULT 'PENDING',
        build_id TEXT,
        attempt INTEGER NOT NULL DEFAULT 0,
        duration_ms INTEGER,
        PRIMARY KEY (batch_id, identifier)
    );
    CREATE TABLE batch_builds (
        batch_id TEXT NOT NULL,
        identifier TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        build_id TEXT NOT NULL,
        status TEXT NOT NULL,
        started_at TEXT,
        ended_at TEXT,
        duration_ms INTEGER,
        PRIMARY KEY (batch_id, identifier, attempt),
        FOREIGN KEY (batch_id, identifier) REFERENCES batch_nodes (batch_id, identifier)
            ON DELETE CASCADE
    );
    ALTER TABLE runs ADD COLUMN batch_id TEXT;
    ALTER TABLE runs ADD COLUMN batch_identifier TEXT;
    CREATE INDEX runs_by_task ON runs (project, backend, batch_identifier, started_at);",
    // v6: report groups, one row per group and run: what a trend needs (pass rate, duration,
    // line and branch coverage), the failed cases' names (`prefix.name`, JSON; complete when
    // `failed_complete`), and the whole report as JSON.
    "CREATE TABLE report_groups (
        build_id TEXT NOT NULL REFERENCES runs (build_id) ON DELETE CASCADE,
        report_group TEXT NOT NULL,
        format TEXT NOT NULL,
        kind TEXT NOT NULL,
        status TEXT NOT NULL,
        tests INTEGER,
        passed INTEGER,
        pass_rate REAL,
        duration_ms INTEGER,
        line_pct REAL,
        branch_pct REAL,
        failed_cases TEXT NOT NULL DEFAULT '[]',
        failed_complete INTEGER NOT NULL DEFAULT 1,
        report TEXT NOT NULL,
        PRIMARY KEY (build_id, report_group)
    );
    CREATE INDEX report_groups_by_group ON report_groups (report_group);",
    // v7: the cache-miss explainer. Per docker build: the Dockerfile and image that identify
    // it, its inputs (`cache::BuildInputs` as JSON: instructions, build args, FROM digests)
    // and the reason for its first miss (`MissReason` as JSON); per `COPY`/`ADD` step that
    // ran, the content hash of each file it copied (a JSON object path -> sha256, no contents).
    "CREATE TABLE docker_inputs (
        build_id TEXT NOT NULL REFERENCES runs (build_id) ON DELETE CASCADE,
        docker_build INTEGER NOT NULL,
        dockerfile TEXT NOT NULL,
        image TEXT NOT NULL DEFAULT '',
        inputs TEXT NOT NULL,
        reason TEXT,
        PRIMARY KEY (build_id, docker_build)
    );
    CREATE INDEX docker_inputs_by_identity ON docker_inputs (dockerfile, image);
    CREATE TABLE copy_hashes (
        build_id TEXT NOT NULL REFERENCES runs (build_id) ON DELETE CASCADE,
        docker_build INTEGER NOT NULL,
        position INTEGER NOT NULL,
        instruction TEXT NOT NULL,
        files TEXT NOT NULL,
        PRIMARY KEY (build_id, docker_build, position)
    );
    CREATE INDEX copy_hashes_by_instruction ON copy_hashes (instruction);",
];

/// The version this code writes.
pub const CURRENT_VERSION: u32 = 7;

/// The version recorded in the database.
pub(crate) fn version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Applies the migrations after `from`, each in its own immediate transaction, so that two
/// processes opening an old database at once do not both migrate it.
pub(crate) fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    loop {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let v = version(&tx)?;
        let Some(sql) = MIGRATIONS.get(v as usize) else {
            return tx.commit();
        };
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", v + 1)?;
        tx.commit()?;
    }
}
