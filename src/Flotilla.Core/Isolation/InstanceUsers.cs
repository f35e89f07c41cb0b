using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace Flotilla.Isolation;

/// <summary>
/// One Unix user per service of an environment (so per tenant too: a tenant's environments have
/// their own data directories), created by Flotilla when it runs as root: its instances run as
/// that user, and their working directories, logs, secret files and SQLite files are that user's
/// alone (0700/0600). Why per service and not per tenant: issue 18 asks that a service's SQLite
/// file be reachable by that service's instances only, which a per-tenant user cannot enforce.
/// Names are <c>fl-</c> and 12 hex digits of a hash of (data directory, service) (useradd allows
/// 32 characters); the full names are in the user's GECOS field, which is checked on reuse. A user
/// is created once and kept, also after its service is deleted: a deleted user's uid could be
/// given to a new user, who would then own what the old one left behind.
/// </summary>
public sealed class InstanceUsers
{
    private static readonly Lock Creating = new();
    private static readonly string[] Bins = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"];
    private readonly ConcurrentDictionary<string, InstanceUser> _users = new(StringComparer.Ordinal);
    private readonly string _dataDirectory;

    private InstanceUsers(string dataDirectory, string? off, string launcher)
    {
        _dataDirectory = dataDirectory;
        Off = off;
        Launcher = launcher;
    }

    /// <summary>Why instances share Flotilla's own user here (not isolated), or null when each service has its own.</summary>
    public string? Off { get; }

    /// <summary>The one-time warning when instances are not isolated, or null when they are.</summary>
    public string? Warning => Off is null ? null
        : $"instances run as Flotilla's own user ({Environment.UserName}) and are not isolated from each other: any instance can read every other's working directory, log, secret files and SQLite files, and signal its processes ({Off})";

    /// <summary>setpriv (util-linux): posix_spawn cannot change user, so it execs the program as the user (same pid, same process group).</summary>
    public string Launcher { get; }

    /// <summary>Instances share Flotilla's user (tests of a driver alone, or isolation turned off).</summary>
    public static InstanceUsers Shared(string reason) => new("", reason, "");

    /// <summary>
    /// Decides once for a data directory: users when Flotilla runs as root, is allowed to, has
    /// setpriv and useradd, and instance users can reach the data directory (and <paramref name="alsoReached"/>:
    /// the build artifacts). Opens the data directory itself for traversal (o+x, no listing).
    /// </summary>
    public static InstanceUsers For(string dataDirectory, bool enabled, params string[] alsoReached)
    {
        dataDirectory = Path.GetFullPath(dataDirectory);
        if (!enabled)
        {
            return Shared("instance users are turned off (flotilla server --instance-users off, or FLOTILLA_INSTANCE_USERS=off)");
        }
        if (!Environment.IsPrivilegedProcess)
        {
            return Shared($"Flotilla runs as {Environment.UserName}, not root, so it cannot create users or start processes as them");
        }
        var setpriv = Find("setpriv");
        if (setpriv is null || Find("useradd") is null)
        {
            return Shared($"{(setpriv is null ? "setpriv (util-linux)" : "useradd")} is not installed; install it (apt-get install util-linux passwd)");
        }
        foreach (var directory in alsoReached.Prepend(dataDirectory).Select(Path.GetFullPath))
        {
            Directory.CreateDirectory(directory);
            if (ClosedAncestor(directory) is { } closed)
            {
                return Shared($"{closed} (mode {Convert.ToString((int)File.GetUnixFileMode(closed), 8)}) is not traversable by other users, so instance users could not reach {directory}; "
                    + $"chmod o+x {closed}, or use a data directory whose parents are");
            }
            FileOwnership.OpenForTraversal(directory);
        }
        return new InstanceUsers(dataDirectory, null, setpriv);
    }

    /// <summary>The service's user, created on first use; null when instances share Flotilla's user (<see cref="Off"/>).</summary>
    public InstanceUser? For(string service) =>
        Off is not null ? null : _users.GetOrAdd(service, s => Ensure(NameOf(_dataDirectory, s), Comment(_dataDirectory, s)));

    public static string NameOf(string dataDirectory, string service)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(Path.GetFullPath(dataDirectory) + "\0" + service));
        return "fl-" + Convert.ToHexStringLower(hash)[..12];
    }

    /// <summary>The GECOS field: which service of which environment (its data directory names the tenant too).</summary>
    public static string Comment(string dataDirectory, string service) =>
        $"flotilla service {service} of {Path.GetFullPath(dataDirectory)}".Replace(':', ';').Replace('\n', ' ');

    private static InstanceUser Ensure(string name, string comment)
    {
        lock (Creating)
        {
            for (var attempt = 0; ; attempt++)
            {
                if (Lookup(name) is { } existing)
                {
                    return existing.Comment == comment ? existing.User
                        : throw new InvalidOperationException($"user {name} exists but is not this service's (its GECOS is '{existing.Comment}', expected '{comment}'); remove or rename that user (userdel {name})");
                }
                var (code, output) = Run("useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", File.Exists("/usr/sbin/nologin") ? "/usr/sbin/nologin" : "/bin/false",
                    "--user-group", "--comment", comment, name);
                // 9: created meanwhile by another Flotilla; 10: /etc/passwd locked by another process (try again).
                if (code is 0 or 9 || (code == 10 && attempt < 50))
                {
                    if (code == 10)
                    {
                        Thread.Sleep(100);
                    }
                    continue;
                }
                throw new InvalidOperationException($"cannot create instance user {name} ({comment}): useradd exited with {code}: {output.Trim()}; "
                    + "fix the cause, or run with --instance-users off (instances then share Flotilla's user)");
            }
        }
    }

    /// <summary>
    /// Deletes the instance users of every data directory at or under <paramref name="directory"/> (the
    /// directory is gone: nothing of theirs is left to inherit); returns their names. For tests and for
    /// an operator who removes a data directory: Flotilla itself never deletes a user (see above).
    /// </summary>
    public static IReadOnlyList<string> RemoveUnder(string directory)
    {
        var prefix = $"flotilla service ";
        var under = Path.GetFullPath(directory).TrimEnd('/');
        var removed = new List<string>();
        string[] lines;
        try
        {
            lines = File.ReadAllLines("/etc/passwd");
        }
        catch (IOException)
        {
            return removed;
        }
        lock (Creating)
        {
            foreach (var fields in lines.Select(l => l.Split(':')).Where(f => f.Length >= 5 && f[0].StartsWith("fl-", StringComparison.Ordinal) && f[4].StartsWith(prefix, StringComparison.Ordinal)))
            {
                var of = fields[4].LastIndexOf(" of /", StringComparison.Ordinal);
                var dataDirectory = of < 0 ? "" : fields[4][(of + 4)..];
                if (dataDirectory != under && !dataDirectory.StartsWith(under + "/", StringComparison.Ordinal))
                {
                    continue;
                }
                for (var attempt = 0; attempt < 50; attempt++)
                {
                    // 10 (and 1 on some versions): /etc/passwd locked by another process.
                    var (code, _) = Run("userdel", fields[0]);
                    if (code is not (1 or 10))
                    {
                        break;
                    }
                    Thread.Sleep(100);
                }
                removed.Add(fields[0]);
            }
        }
        return removed;
    }

    private static (InstanceUser User, string Comment)? Lookup(string name)
    {
        var (code, output) = Run("getent", "passwd", name);
        var fields = output.Trim().Split(':');
        return code == 0 && fields.Length >= 5
            ? (new InstanceUser(name, int.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture), int.Parse(fields[3], System.Globalization.CultureInfo.InvariantCulture)), fields[4])
            : null;
    }

    private static (int Code, string Output) Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(Find(program) ?? program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
        {
            process.Kill();
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} did not finish within 30 s");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    private static string? Find(string program) => Bins.Select(b => Path.Combine(b, program)).FirstOrDefault(File.Exists);

    /// <summary>The first proper ancestor of <paramref name="directory"/> that others may not pass through, or null.</summary>
    private static string? ClosedAncestor(string directory)
    {
        for (var parent = Path.GetDirectoryName(directory); parent is not null; parent = Path.GetDirectoryName(parent))
        {
            if ((File.GetUnixFileMode(parent) & UnixFileMode.OtherExecute) == 0)
            {
                return parent;
            }
        }
        return null;
    }
}
