using System.Security.Cryptography;
using System.Text;
using Flotilla.Store;

namespace Flotilla.Secrets;

/// <summary>
/// The control plane's secrets: values encrypted with AES-GCM under a key kept beside the store
/// (<c>secrets.key</c>, mode 0600), so the store file, its backups and anything copied from the
/// data directory hold no secret in the clear. A value leaves only toward an instance's process
/// (its environment, or a file in memory-backed /dev/shm); CLI, API, events, audit and logs name
/// secrets and versions, never values.
/// </summary>
public sealed class SecretStore(StateStore store, string dataDirectory)
{
    private readonly Lazy<byte[]> _key = new(() => LoadOrCreateKey(Path.Combine(dataDirectory, "secrets.key")));

    public void Set(string name, string value, string actor, DateTimeOffset at)
    {
        var nonce = RandomNumberGenerator.GetBytes(AesGcm.NonceByteSizes.MaxSize);
        var plain = Encoding.UTF8.GetBytes(value);
        var cipher = new byte[plain.Length];
        var tag = new byte[AesGcm.TagByteSizes.MaxSize];
        using (var aes = new AesGcm(_key.Value, tag.Length))
        {
            aes.Encrypt(nonce, plain, cipher, tag, Encoding.UTF8.GetBytes(name));
        }
        store.SetSecret(name, nonce, cipher, tag, actor, at);
    }

    /// <summary>The value of a stored secret, or null when there is none by that name.</summary>
    public string? Get(string name)
    {
        if (store.Secret(name) is not { } sealedValue)
        {
            return null;
        }
        var plain = new byte[sealedValue.Cipher.Length];
        using var aes = new AesGcm(_key.Value, sealedValue.Tag.Length);
        aes.Decrypt(sealedValue.Nonce, sealedValue.Cipher, sealedValue.Tag, plain, Encoding.UTF8.GetBytes(name));
        return Encoding.UTF8.GetString(plain);
    }

    /// <summary>The value a reference points at now: from the store, or the file's content.</summary>
    public string Resolve(SecretRef secret) => secret.Source == SecretRef.FromStore
        ? Get(secret.Name) ?? throw new InvalidOperationException($"secret '{secret.Name}' is no longer in the secret store (flotilla secret set {secret.Name})")
        : File.ReadAllText(secret.Name);

    /// <summary>A keyed hash of a value: changes when the value does, tells nothing about it.</summary>
    public string Fingerprint(string value) => Convert.ToHexStringLower(HMACSHA256.HashData(_key.Value, Encoding.UTF8.GetBytes(value)))[..12];

    /// <summary>
    /// A secret of this environment for one purpose (e.g. the flags' access key), derived from the
    /// store's key: the same across restarts, never stored, URL-safe, and telling nothing of the key.
    /// </summary>
    public string Derive(string purpose) => Convert.ToBase64String(HMACSHA256.HashData(_key.Value, Encoding.UTF8.GetBytes("flotilla/" + purpose)))
        .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] LoadOrCreateKey(string path)
    {
        if (File.Exists(path))
        {
            return Convert.FromBase64String(File.ReadAllText(path).Trim());
        }
        var key = RandomNumberGenerator.GetBytes(32);
        using (var file = new FileStream(path, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
        using (var writer = new StreamWriter(file))
        {
            writer.Write(Convert.ToBase64String(key));
        }
        return key;
    }
}
