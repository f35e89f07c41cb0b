using Flotilla.Events;
using Flotilla.Store;
using Flotilla.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Flotilla.Tests.Store;

/// <summary>The store on real SQLite files: schema, durability across reopen, concurrency rules, secrets.</summary>
public sealed class StateStoreTests : IDisposable
{
    private readonly TempDirectory _dir = new("flotilla-store");
    private static readonly DateTimeOffset At = DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000);

    public void Dispose() => _dir.Dispose();

    private RevisionRecord Add(StateStore store, long? basedOn, string summary = "s") =>
        store.AddRevision(basedOn, "alice", "prod", "/x/flotilla.yaml", "name: x", "abc123", summary, "{}", At);

    [Fact]
    public void NewStore_IsCreatedAtTheLatestSchema_InWalMode_ReadableByItsOwnerOnly()
    {
        using var store = StateStore.Open(_dir.Path);
        Assert.True(store.Created);
        Assert.Equal(StoreMigrations.Latest, store.SchemaVersion);
        Assert.Equal(0, store.LatestRevisionNumber);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(store.Path));
        using var probe = new SqliteConnection($"Data Source={store.Path}");
        probe.Open();
        using var command = probe.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", command.ExecuteScalar());
    }

    [Fact]
    public void EverythingWritten_IsThereAfterReopening()
    {
        using (var store = StateStore.Open(_dir.Path))
        {
            Add(store, 0, "first");
            store.SetServiceOverride(new ServiceOverride("api", 4, false), "bob", "scale", "api scaled to 4", At);
            store.SetZoneDown("b", true, "bob", At);
            store.SaveInstance(new InstanceRecord("api-1", "api", "r1", 4242, 99, 5000, "a", At, "{}"));
            store.AppendEvent(new SystemEvent(7, At, "api", "started", false));
            store.SetMeta("k", "v");
        }
        using var reopened = StateStore.Open(_dir.Path);
        Assert.False(reopened.Created);
        var revision = Assert.Single(reopened.Revisions());
        Assert.Equal((1L, "alice", "prod", "abc123", "first"), (revision.Number, revision.Actor, revision.Environment, revision.GitCommit, revision.Summary));
        Assert.Equal(4, reopened.ServiceOverrides()["api"].Instances);
        Assert.Contains("b", reopened.ZonesDown());
        Assert.Equal((4242, 99L, "a"), reopened.Instances().Select(i => (i.Pid, i.ProcessStartTime!.Value, i.Zone!)).Single());
        Assert.Equal(7, reopened.LastEventSequence);
        Assert.Equal("v", reopened.Meta("k"));
        Assert.Equal(["zone down", "scale", "apply"], reopened.Audit().Select(a => a.Action));
    }

    [Fact]
    public void ApplyBasedOnAStaleRevision_IsRefused_AndWritesNothing()
    {
        using var store = StateStore.Open(_dir.Path);
        Add(store, 0);
        Add(store, 1);
        var stale = Assert.Throws<StaleRevisionException>(() => Add(store, 1));
        Assert.Equal((1L, 2L), (stale.Expected, stale.Current));
        Assert.Equal(2, store.LatestRevisionNumber);
        Assert.Equal(2, store.Audit().Count(a => a.Action == "apply"));
    }

    [Fact]
    public void AnApply_ResetsScaleOverrides_ButAStoppedServiceStaysStopped()
    {
        using var store = StateStore.Open(_dir.Path);
        store.SetServiceOverride(new ServiceOverride("api", 9, false), "bob", "scale", "", At);
        store.SetServiceOverride(new ServiceOverride("db", null, true), "bob", "stop", "", At);
        Add(store, null);
        var overrides = store.ServiceOverrides();
        Assert.False(overrides.ContainsKey("api"));
        Assert.Equal(new ServiceOverride("db", null, true), overrides["db"]);
    }

    [Fact]
    public void Tokens_AreStoredHashed_AndFoundByTheirSecretOnly()
    {
        string secret;
        using (var store = StateStore.Open(_dir.Path))
        {
            secret = store.CreateToken("ci", "read", "admin", At);
            Assert.Equal(("ci", "read"), (store.FindToken(secret)!.Name, store.FindToken(secret)!.Role));
            Assert.Null(store.FindToken(secret + "x"));
            Assert.Null(store.FindToken(""));
        }
        var bytes = Directory.GetFiles(_dir.Path, "flotilla.db*").Select(File.ReadAllBytes).SelectMany(b => b).ToArray();
        Assert.True(bytes.Length > 0);
        Assert.False(System.Text.Encoding.ASCII.GetString(bytes).Contains(secret, StringComparison.Ordinal), "the secret must not be stored");
    }

    /// <summary>Back to schema 6: tokens without tenants (names unique server-wide), no tenants table, no audit tenant column.</summary>
    private const string UndoTenants = """
        CREATE TABLE tokens6 (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, role TEXT NOT NULL, sha256 TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL);
        INSERT INTO tokens6 SELECT id, name, role, sha256, created_at FROM tokens;
        DROP TABLE tokens;
        ALTER TABLE tokens6 RENAME TO tokens;
        DROP TABLE tenants;
        ALTER TABLE audit DROP COLUMN tenant;
        """;

    [Fact]
    public void AStoreFromBeforeTenants_IsTenantDefault_ItsAdminTokensOperators_ItsReadTokensServerWideViewers()
    {
        string admin, read;
        using (var store = StateStore.Open(_dir.Path))
        {
            admin = store.CreateToken("admin", "admin", "server", At);
            read = store.CreateToken("read", "read", "server", At);
        }
        using (var raw = new SqliteConnection($"Data Source={Path.Combine(_dir.Path, StateStore.FileName)};Pooling=false"))
        {
            raw.Open();
            using var command = raw.CreateCommand();
            command.CommandText = UndoTenants + "PRAGMA user_version = 7;";
            command.ExecuteNonQuery();
        }
        using var migrated = StateStore.Open(_dir.Path);
        Assert.Equal(StoreMigrations.Latest, migrated.SchemaVersion);
        Assert.Equal(new TokenRecord("admin", "operator", At, null), migrated.FindToken(admin));
        Assert.Equal(new TokenRecord("read", "viewer", At, null), migrated.FindToken(read));
        Assert.Equal(["default"], migrated.Tenants().Select(t => t.Name));
        // Names are unique inside a tenant only: another tenant may have an 'admin' token too.
        Assert.True(migrated.CreateTenant("payments", "admin", At));
        Assert.False(migrated.CreateTenant("payments", "admin", At));
        var theirs = migrated.CreateToken("admin", "admin", "token:admin", At, "payments");
        Assert.Equal(new TokenRecord("admin", "admin", At, "payments"), migrated.FindToken(theirs));
        // Rows written before the migration are the default tenant's (everything was); new ones say whose they are.
        Assert.Equal(4, migrated.Audit(100, "*").Count(a => a.Action is "tenant create" or "token create"));
        Assert.DoesNotContain(migrated.Audit(100, "default"), a => a.Action == "tenant create" || a.Actor == "token:admin");
        Assert.Single(migrated.Audit(100, "payments"), a => a.Tenant == "payments");
    }

    [Fact]
    public void AStoreAtSchema1_IsMigratedForward_KeepingItsData()
    {
        using (var store = StateStore.Open(_dir.Path))
        {
            store.SetServiceOverride(new ServiceOverride("api", 4, false), "bob", "scale", "", At);
        }
        using (var raw = new SqliteConnection($"Data Source={Path.Combine(_dir.Path, StateStore.FileName)};Pooling=false"))
        {
            // Back to what Flotilla with schema 1 wrote: no paused column, no flag_overrides, gitops, secrets, queue or schedule table.
            raw.Open();
            using var command = raw.CreateCommand();
            command.CommandText = UndoTenants + "ALTER TABLE service_overrides DROP COLUMN paused; DROP TABLE flag_overrides; DROP TABLE gitops; DROP TABLE secrets; DROP TABLE queue_messages; DROP TABLE schedule_cursors; PRAGMA user_version = 1;";
            command.ExecuteNonQuery();
        }
        using var migrated = StateStore.Open(_dir.Path);
        Assert.Equal(StoreMigrations.Latest, migrated.SchemaVersion);
        Assert.Equal(new ServiceOverride("api", 4, false, false), migrated.ServiceOverrides()["api"]);
        migrated.SetServiceOverride(new ServiceOverride("api", 4, false, Paused: true), "bob", "pause", "", At);
        Assert.True(migrated.ServiceOverrides()["api"].Paused);
        migrated.SetFlagOverride(new FlagOverride("f", "{\"state\":\"DISABLED\"}", "{\"state\":\"ENABLED\"}", "bob", At), "flag set", "flag f: state ENABLED→DISABLED");
        Assert.Equal("bob", migrated.FlagOverrides()["f"].Actor);
        Assert.Contains(migrated.Audit(), a => a.Action == "flag set" && a.Detail == "flag f: state ENABLED→DISABLED");
    }

    [Fact]
    public void AStoreFromANewerFlotilla_IsRefusedWithAClearMessage()
    {
        using (var store = StateStore.Open(_dir.Path))
        {
        }
        using (var raw = new SqliteConnection($"Data Source={Path.Combine(_dir.Path, StateStore.FileName)};Pooling=false"))
        {
            raw.Open();
            using var command = raw.CreateCommand();
            command.CommandText = "PRAGMA user_version = 99";
            command.ExecuteNonQuery();
        }
        var e = Assert.Throws<InvalidOperationException>(() => StateStore.Open(_dir.Path));
        Assert.Contains($"schema version 99, newer than this Flotilla knows ({StoreMigrations.Latest})", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Events_AreReadBackInOrder_AfterASequence_NewestLimitedFirst()
    {
        using var store = StateStore.Open(_dir.Path);
        for (var i = 1; i <= 10; i++)
        {
            store.AppendEvent(new SystemEvent(i, At, "s", $"m{i}", i % 2 == 0));
        }
        Assert.Equal(["m8", "m9", "m10"], store.Events(0, 3).Select(e => e.Message));
        Assert.Equal(["m6", "m7"], store.Events(5, 100).Take(2).Select(e => e.Message));
        Assert.True(store.Events(9, 10).Single().Warning);
    }
}
