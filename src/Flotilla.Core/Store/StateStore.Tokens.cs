using System.Security.Cryptography;
using System.Text;

namespace Flotilla.Store;

public sealed partial class StateStore
{
    /// <summary>Creates a token and returns its secret: the only time it exists outside the caller's hands.</summary>
    public string CreateToken(string name, string role, string actor, DateTimeOffset at)
    {
        var secret = "flo_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        Write((c, t) =>
        {
            Execute(c, "INSERT INTO tokens (name, role, sha256, created_at) VALUES ($n, $r, $h, $at)", t,
                ("$n", name), ("$r", role), ("$h", Hash(secret)), ("$at", at.ToUnixTimeMilliseconds()));
            InsertAudit(c, t, at, actor, "token create", $"token '{name}' with role {role}", null, null);
        });
        return secret;
    }

    /// <summary>Deletes a token (audited); false when there is none by that name.</summary>
    public bool RevokeToken(string name, string actor, DateTimeOffset at) =>
        Write((c, t) =>
        {
            using var command = c.CreateCommand();
            command.Transaction = t;
            command.CommandText = "DELETE FROM tokens WHERE name = $n";
            command.Parameters.AddWithValue("$n", name);
            if (command.ExecuteNonQuery() == 0)
            {
                return false;
            }
            InsertAudit(c, t, at, actor, "token revoke", $"token '{name}' revoked", null, null);
            return true;
        });

    public TokenRecord? FindToken(string secret) =>
        Read(c => Query(c, "SELECT name, role, created_at FROM tokens WHERE sha256 = $h", r => new TokenRecord(r.GetString(0), r.GetString(1), Time(r, 2)), ("$h", Hash(secret))).FirstOrDefault());

    public IReadOnlyList<TokenRecord> Tokens() =>
        Read(c => Query(c, "SELECT name, role, created_at FROM tokens ORDER BY id", r => new TokenRecord(r.GetString(0), r.GetString(1), Time(r, 2))));

    private static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));
}
