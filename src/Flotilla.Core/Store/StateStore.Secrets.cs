namespace Flotilla.Store;

public sealed partial class StateStore
{
    public SealedSecret? Secret(string name) =>
        Read(c => Query(c, "SELECT name, nonce, cipher, tag, version, actor, at FROM secrets WHERE name = $n",
            r => new SealedSecret(r.GetString(0), (byte[])r[1], (byte[])r[2], (byte[])r[3], r.GetInt32(4), r.GetString(5), Time(r, 6)), ("$n", name))).FirstOrDefault();

    public IReadOnlyList<SecretInfo> Secrets() =>
        Read(c => Query(c, "SELECT name, version, actor, at FROM secrets ORDER BY name", r => new SecretInfo(r.GetString(0), r.GetInt32(1), r.GetString(2), Time(r, 3))));

    /// <summary>Stores a sealed value as the next version of the secret, audited by name and version only.</summary>
    public void SetSecret(string name, byte[] nonce, byte[] cipher, byte[] tag, string actor, DateTimeOffset at) =>
        Write((c, t) =>
        {
            var version = Convert.ToInt32(Scalar(c, "SELECT COALESCE(MAX(version), 0) + 1 FROM secrets WHERE name = $n", t, ("$n", name)), System.Globalization.CultureInfo.InvariantCulture);
            Execute(c, "INSERT INTO secrets (name, nonce, cipher, tag, version, actor, at) VALUES ($n, $no, $c, $t, $v, $a, $at) ON CONFLICT(name) DO UPDATE SET nonce = $no, cipher = $c, tag = $t, version = $v, actor = $a, at = $at", t,
                ("$n", name), ("$no", nonce), ("$c", cipher), ("$t", tag), ("$v", version), ("$a", actor), ("$at", at.ToUnixTimeMilliseconds()));
            InsertAudit(c, t, at, actor, "secret set", $"secret {name}: version {version}", null, null);
        });

    public bool RemoveSecret(string name, string actor, DateTimeOffset at) =>
        Write((c, t) =>
        {
            var removed = Convert.ToInt32(Scalar(c, "SELECT COUNT(*) FROM secrets WHERE name = $n", t, ("$n", name)), System.Globalization.CultureInfo.InvariantCulture) > 0;
            Execute(c, "DELETE FROM secrets WHERE name = $n", t, ("$n", name));
            if (removed)
            {
                InsertAudit(c, t, at, actor, "secret remove", $"secret {name}", null, null);
            }
            return removed;
        });
}
