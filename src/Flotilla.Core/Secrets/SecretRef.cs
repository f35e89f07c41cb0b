namespace Flotilla.Secrets;

/// <summary>
/// A secret as desired state holds it: where its value is (the store's name, or a file's path),
/// never the value. <see cref="Fingerprint"/> is a keyed hash of the value (HMAC with the data
/// directory's secret key), so a rotated secret makes a new revision (a rolling restart) and
/// the value cannot be guessed from it.
/// </summary>
public sealed record SecretRef(string Variable, string Source, string Name, bool AsFile, string Fingerprint)
{
    public const string FromStore = "store";
    public const string FromFile = "file";

    /// <summary>Where the value comes from, in words (what config and status show instead of it).</summary>
    public string Describe() => Source == FromStore ? $"secret store '{Name}'" : $"secret file {Name}";
}
