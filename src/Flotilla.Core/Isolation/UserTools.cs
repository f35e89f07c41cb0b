namespace Flotilla.Isolation;

/// <summary>
/// The programs <see cref="InstanceUsers"/> runs and how long it waits for a new user to show: the
/// system's, or (tests) scripts standing in for a caching name service or a used-up uid range.
/// </summary>
/// <param name="Tries">How often a user that useradd created (or says exists) is looked up before giving up.</param>
internal sealed record UserTools(string? Useradd, string? Getent, string? Userdel, int Tries, TimeSpan RetryDelay)
{
    private static readonly string[] Bins = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"];

    /// <summary>The system's programs; 50 tries 0.1 s apart (about 5 s) for a new user to show.</summary>
    public static UserTools System { get; } = new(Find("useradd"), Find("getent"), Find("userdel"), 50, TimeSpan.FromMilliseconds(100));

    public static string? Find(string program) => Bins.Select(b => Path.Combine(b, program)).FirstOrDefault(File.Exists);
}
