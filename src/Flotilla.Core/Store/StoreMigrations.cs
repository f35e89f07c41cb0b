using Microsoft.Data.Sqlite;

namespace Flotilla.Store;

/// <summary>
/// The store's own schema, as an append-only list of migrations; <c>PRAGMA user_version</c>
/// counts how many ran. Never edit a shipped migration: add the next one.
/// </summary>
internal static class StoreMigrations
{
    private static readonly string[] Migrations =
    [
        // 1: the control plane's first schema.
        """
        CREATE TABLE revisions (
            number INTEGER PRIMARY KEY,
            created_at INTEGER NOT NULL,
            actor TEXT NOT NULL,
            environment TEXT,
            spec_file TEXT NOT NULL,
            spec_yaml TEXT NOT NULL,
            git_commit TEXT,
            summary TEXT NOT NULL,
            desired_json TEXT NOT NULL
        );
        CREATE TABLE service_overrides (
            service TEXT PRIMARY KEY,
            instances INTEGER,
            stopped INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE zones_down (zone TEXT PRIMARY KEY, since INTEGER NOT NULL);
        CREATE TABLE instances (
            id TEXT PRIMARY KEY,
            service TEXT NOT NULL,
            revision TEXT NOT NULL,
            pid INTEGER NOT NULL,
            process_start_time INTEGER,
            port INTEGER NOT NULL,
            zone TEXT,
            started_at INTEGER NOT NULL,
            launch_json TEXT NOT NULL
        );
        CREATE TABLE events (
            sequence INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            subject TEXT NOT NULL,
            message TEXT NOT NULL,
            warning INTEGER NOT NULL
        );
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            detail TEXT NOT NULL,
            revision INTEGER,
            git_commit TEXT
        );
        CREATE TABLE tokens (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL,
            sha256 TEXT NOT NULL UNIQUE,
            created_at INTEGER NOT NULL
        );
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """,
        // 2: a service's rollout can be paused by an operator.
        """
        ALTER TABLE service_overrides ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;
        """,
        // 3: a flag changed at runtime (flags set/enable/disable): its whole definition, over the revision's.
        """
        CREATE TABLE flag_overrides (
            flag TEXT PRIMARY KEY,
            definition_json TEXT NOT NULL,
            spec_json TEXT NOT NULL,
            actor TEXT NOT NULL,
            at INTEGER NOT NULL
        );
        """,
        // 4: the git repository this control plane follows (GitOps), and the last commit it applied.
        """
        CREATE TABLE gitops (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            repo TEXT NOT NULL,
            path TEXT NOT NULL,
            environment TEXT,
            branch TEXT NOT NULL,
            interval_ms INTEGER NOT NULL,
            self_heal INTEGER NOT NULL,
            added_by TEXT NOT NULL,
            added_at INTEGER NOT NULL,
            last_commit TEXT
        );
        """,
        // 5: the secret store: values sealed with AES-GCM (the key is secrets.key beside the store), versions, who set them.
        """
        CREATE TABLE secrets (
            name TEXT PRIMARY KEY,
            nonce BLOB NOT NULL,
            cipher BLOB NOT NULL,
            tag BLOB NOT NULL,
            version INTEGER NOT NULL,
            actor TEXT NOT NULL,
            at INTEGER NOT NULL
        );
        """,
        // 6: functions' queues: messages with their delivery lease, attempts and, once given up on, the reason.
        """
        CREATE TABLE queue_messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            queue TEXT NOT NULL,
            body BLOB NOT NULL,
            content_type TEXT,
            created_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            dead INTEGER NOT NULL DEFAULT 0,
            visible_at INTEGER NOT NULL,
            lease_token TEXT,
            last_error TEXT
        );
        CREATE INDEX queue_messages_due ON queue_messages (queue, dead, visible_at);
        """,
        // 7: schedule and file triggers. A message made from a dropped file names it (source) and, once
        // answered, stays as done until its file is moved to processed/; a schedule's cursor is the time
        // through which its occurrences were handled (fired or skipped). A message's key orders it behind
        // the earlier messages of the same key (delivered one at a time, in order).
        """
        ALTER TABLE queue_messages ADD COLUMN source TEXT;
        ALTER TABLE queue_messages ADD COLUMN key TEXT;
        CREATE INDEX queue_messages_key ON queue_messages (queue, key, id);
        ALTER TABLE queue_messages ADD COLUMN done INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE schedule_cursors (
            function TEXT PRIMARY KEY,
            handled_through INTEGER NOT NULL
        );
        """,
        // 8: tenants. Tokens belong to a tenant ('' = server-wide) and names are unique inside it, so
        // one tenant's token names never collide with (or reveal) another's. What existed keeps working:
        // admin tokens become operators, read tokens server-wide viewers, and everything is tenant 'default'.
        """
        CREATE TABLE tenants (name TEXT PRIMARY KEY, created_at INTEGER NOT NULL, quota_json TEXT);
        INSERT INTO tenants (name, created_at) VALUES ('default', 0);
        CREATE TABLE tokens_by_tenant (
            id INTEGER PRIMARY KEY,
            tenant TEXT NOT NULL DEFAULT '',
            name TEXT NOT NULL,
            role TEXT NOT NULL,
            sha256 TEXT NOT NULL UNIQUE,
            created_at INTEGER NOT NULL,
            UNIQUE (tenant, name)
        );
        INSERT INTO tokens_by_tenant (id, tenant, name, role, sha256, created_at)
            SELECT id, '', name, CASE role WHEN 'admin' THEN 'operator' WHEN 'read' THEN 'viewer' ELSE role END, sha256, created_at FROM tokens;
        DROP TABLE tokens;
        ALTER TABLE tokens_by_tenant RENAME TO tokens;
        ALTER TABLE audit ADD COLUMN tenant TEXT;
        """,
    ];

    public static int Latest => Migrations.Length;

    public static void Apply(SqliteConnection connection)
    {
        var version = Convert.ToInt32(StateStore.Scalar(connection, "PRAGMA user_version"), System.Globalization.CultureInfo.InvariantCulture);
        if (version > Migrations.Length)
        {
            throw new InvalidOperationException($"the store is at schema version {version}, newer than this Flotilla knows ({Migrations.Length}); run a newer Flotilla");
        }
        for (var next = version; next < Migrations.Length; next++)
        {
            using var transaction = connection.BeginTransaction();
            StateStore.Execute(connection, Migrations[next], transaction);
            StateStore.Execute(connection, $"PRAGMA user_version = {next + 1}", transaction);
            transaction.Commit();
        }
    }
}
