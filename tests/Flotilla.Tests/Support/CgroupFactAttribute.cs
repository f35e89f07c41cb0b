using Flotilla.Runtime;

namespace Flotilla.Tests.Support;

/// <summary>
/// A fact about CPU and memory limits: it runs where this process may create cgroups (v1 or
/// delegated v2), and is reported as skipped, with the driver's reason, where it may not — never
/// passed without having run.
/// </summary>
public sealed class CgroupFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> Unavailable = new(() =>
    {
        var cgroups = Cgroups.Detect(out var why);
        cgroups?.RemoveAll();
        return why;
    });

    public CgroupFactAttribute()
    {
        if (Unavailable.Value is { } why)
        {
            Skip = $"cgroup limits cannot be set on this machine: {why}";
        }
    }
}
