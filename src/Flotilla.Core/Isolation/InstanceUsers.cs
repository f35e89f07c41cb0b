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
/// is kept while it runs a process or owns a file Flotilla can find (its SQLite files): a deleted
/// user's uid could be given to a new user, who would then own what the old one left behind. The
/// others are removed when a control plane starts (InstanceUsers.Cleanup.cs).
/// </summary>
public sealed partial class InstanceUsers
{
    private static readonly Lock Creating = new();
    private readonly ConcurrentDictionary<string, InstanceUser> _users = new(StringComparer.Ordinal);
    private readonly string _dataDirectory;
    private readonly UserTools _tools;

    private InstanceUsers(string dataDirectory, string? off, string launcher, UserTools tools)
    {
        _dataDirectory = dataDirectory;
        _tools = tools;
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
    public static InstanceUsers Shared(string reason) => new("", reason, "", UserTools.System);

    /// <summary>
    /// Decides once for a data directory: users when Flotilla runs as root, is allowed to, has
    /// setpriv and useradd, and instance users can reach the data directory (and <paramref name="alsoReached"/>:
    /// the build artifacts). Opens the data directory itself for traversal (o+x, no listing).
    /// </summary>
    public static InstanceUsers For(string dataDirectory, bool enabled, params string[] alsoReached) => For(dataDirectory, enabled, UserTools.System, alsoReached);

    /// <param name="tools">The programs run to look up and create users (tests: scripts standing in for a broken name service).</param>
    internal static InstanceUsers For(string dataDirectory, bool enabled, UserTools tools, params string[] alsoReached)
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
        var setpriv = UserTools.Find("setpriv");
        if (setpriv is null || tools.Useradd is null || !File.Exists(tools.Useradd))
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
        return new InstanceUsers(dataDirectory, null, setpriv, tools);
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

    private InstanceUser Ensure(string name, string comment)
    {
        lock (Creating)
        {
            var started = Stopwatch.StartNew();
            var useraddSaid = "";
            for (var attempt = 1; attempt <= _tools.Tries; attempt++)
            {
                if (attempt > 2)
                {
                    Thread.Sleep(_tools.RetryDelay);
                }
                if (Lookup(name) is { } existing)
                {
                    return existing.Comment == comment ? existing.User
                        : throw new InvalidOperationException($"user {name} exists but is not this service's (its GECOS is '{existing.Comment}', expected '{comment}'); remove or rename that user (userdel {name})");
                }
                var (code, output) = Run(_tools.Useradd!, "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", File.Exists("/usr/sbin/nologin") ? "/usr/sbin/nologin" : "/bin/false",
                    "--user-group", "--comment", comment, name);
                // 0: created; 9: created meanwhile by another Flotilla; 10: /etc/passwd locked by another process. Look again.
                if (code is 0 or 9 or 10)
                {
                    useraddSaid = code == 10 ? "/etc/passwd stayed locked by another process (useradd exited with 10)"
                        : $"useradd {(code == 0 ? "created it" : "says it exists")}, but getent passwd {name} does not find it: the name service (a cache such as nscd or sssd, see /etc/nsswitch.conf) does not see /etc/passwd";
                    continue;
                }
                if (code == 4 && output.Contains("no more available", StringComparison.OrdinalIgnoreCase))
                {
                    throw new InvalidOperationException($"cannot create instance user {name} ({comment}): the system uid range is used up ({output.Trim()}); "
                        + "Flotilla makes one user per service and environment. Restart Flotilla to remove the unused ones of its data directories, "
                        + "userdel the fl-* users of data directories that no longer exist (their GECOS names the directory: grep ':flotilla service ' /etc/passwd), "
                        + "or widen SYS_UID_MIN..SYS_UID_MAX and SYS_GID_MIN..SYS_GID_MAX in /etc/login.defs");
                }
                throw new InvalidOperationException($"cannot create instance user {name} ({comment}): useradd exited with {code}: {output.Trim()}; "
                    + "fix the cause, or run with --instance-users off (instances then share Flotilla's user)");
            }
            throw new InvalidOperationException($"cannot use instance user {name} ({comment}) after {_tools.Tries} tries in {started.Elapsed.TotalSeconds:0.0} s: {useraddSaid}; "
                + "invalidate the cache (nscd -i passwd, sss_cache -E) or make passwd lookups read files first, or run with --instance-users off");
        }
    }

    private (InstanceUser User, string Comment)? Lookup(string name)
    {
        var (code, output) = Run(_tools.Getent ?? "getent", "passwd", name);
        if (code != 0)
        {
            return null;
        }
        var line = output.Split('\n')[0].Trim();
        var fields = line.Split(':');
        var culture = System.Globalization.CultureInfo.InvariantCulture;
        if (fields.Length < 7 || fields[0] != name || !int.TryParse(fields[2], culture, out var uid) || !int.TryParse(fields[3], culture, out var gid) || uid < 0 || gid < 0)
        {
            throw new InvalidOperationException($"getent passwd {name} answered a malformed entry '{line}' (expected name:password:uid:gid:gecos:home:shell with numeric uid and gid); "
                + "check the passwd entry of that user and the name service in /etc/nsswitch.conf");
        }
        return (new InstanceUser(name, uid, gid), fields[4]);
    }

    internal static (int Code, string Output) Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(UserTools.Find(program) ?? program) { RedirectStandardOutput = true, RedirectStandardError = true };
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
