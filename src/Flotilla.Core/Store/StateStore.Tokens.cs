using System.Security.Cryptography;
using System.Text;

namespace Flotilla.Store;

public sealed partial class StateStore
{
    /// <summary>
    /// Creates a token and returns its secret: the only time it exists outside the caller's hands.
    /// <paramref name="tenant"/> null: a server-wide token. Names are unique inside a tenant.
    /// </summary>
    public string CreateToken(string name, string role, string actor, DateTimeOffset at, string? tenant = null)
    {
        var secret = "flo_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        Write((c, t) =>
        {
            Execute(c, "INSERT INTO tokens (tenant, name, role, sha256, created_at) VALUES ($tenant, $n, $r, $h, $at)", t,
                ("$tenant", tenant ?? ""), ("$n", name), ("$r", role), ("$h", Hash(secret)), ("$at", at.ToUnixTimeMilliseconds()));
            InsertAudit(c, t, at, actor, "token create", $"token '{name}' with role {role}" + (tenant is null ? " (server-wide)" : ""), null, null, tenant ?? "");
        });
        return secret;
    }

    /// <summary>Deletes a token of a tenant (null: a server-wide one), audited; false when there is none by that name.</summary>
    public bool RevokeToken(string name, string actor, DateTimeOffset at, string? tenant = null) =>
        Write((c, t) =>
        {
            using var command = c.CreateCommand();
            command.Transaction = t;
            command.CommandText = "DELETE FROM tokens WHERE name = $n AND tenant = $tenant";
            command.Parameters.AddWithValue("$n", name);
            command.Parameters.AddWithValue("$tenant", tenant ?? "");
            if (command.ExecuteNonQuery() == 0)
            {
                return false;
            }
            InsertAudit(c, t, at, actor, "token revoke", $"token '{name}' revoked", null, null, tenant ?? "");
            return true;
        });

    public TokenRecord? FindToken(string secret) =>
        Read(c => Query(c, "SELECT name, role, created_at, tenant FROM tokens WHERE sha256 = $h", Token, ("$h", Hash(secret))).FirstOrDefault());

    /// <summary>Every token of every tenant (never their secrets).</summary>
    public IReadOnlyList<TokenRecord> Tokens() =>
        Read(c => Query(c, "SELECT name, role, created_at, tenant FROM tokens ORDER BY id", Token));

    private static TokenRecord Token(Microsoft.Data.Sqlite.SqliteDataReader r) =>
        new(r.GetString(0), r.GetString(1), Time(r, 2), r.GetString(3) is { Length: > 0 } tenant ? tenant : null);

    private static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));
}
