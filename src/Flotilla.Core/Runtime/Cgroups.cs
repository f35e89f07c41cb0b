using System.Globalization;
using Flotilla.Model;

namespace Flotilla.Runtime;

/// <summary>
/// CPU and memory limits for local instances through the kernel's control groups: one cgroup per
/// instance under a directory of this Flotilla process, on cgroup v1 (memory + cpu controllers) or
/// v2 (when the current cgroup may delegate them). Where neither is writable, <see cref="Detect"/>
/// says why, and instances run without limits.
/// </summary>
internal sealed class Cgroups
{
    private const string Root = "/sys/fs/cgroup";
    private const long CpuPeriodMicroseconds = 100_000;
    private readonly bool _v2;
    private readonly string _memoryBase;
    private readonly string _cpuBase;

    private Cgroups(bool v2, string memoryBase, string cpuBase)
    {
        _v2 = v2;
        _memoryBase = memoryBase;
        _cpuBase = cpuBase;
    }

    public static Cgroups? Detect(out string? unavailable)
    {
        unavailable = null;
        var name = $"flotilla-{Environment.ProcessId}";
        try
        {
            var lines = File.ReadAllLines("/proc/self/cgroup").Select(l => l.Split(':', 3)).Where(p => p.Length == 3).ToList();
            if (File.Exists(Path.Combine(Root, "cgroup.controllers")))
            {
                var own = Root + lines.First(p => p[0] == "0")[2];
                var controllers = File.ReadAllText(Path.Combine(own, "cgroup.controllers"));
                if (!controllers.Contains("memory", StringComparison.Ordinal) || !controllers.Contains("cpu", StringComparison.Ordinal))
                {
                    unavailable = $"cgroup v2 controllers memory and cpu are not delegated to {own}";
                    return null;
                }
                var dir = Path.Combine(own, name);
                Directory.CreateDirectory(dir);
                File.WriteAllText(Path.Combine(dir, "cgroup.subtree_control"), "+memory +cpu");
                return new Cgroups(true, dir, dir);
            }
            string V1(string controller) =>
                Path.Combine(Root, controller) + lines.First(p => p[1].Split(',').Contains(controller))[2].TrimEnd('/') + "/" + name;
            var memory = V1("memory");
            var cpu = V1("cpu");
            Directory.CreateDirectory(memory);
            Directory.CreateDirectory(cpu);
            return new Cgroups(false, memory, cpu);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            unavailable = $"cgroups are not writable here ({e.Message})";
            return null;
        }
    }

    /// <summary>Puts a started process into its own cgroup with the declared limits; returns an error text or null.</summary>
    public string? Apply(string instanceId, int pid, ResourcesSpec resources)
    {
        try
        {
            var memory = Directory.CreateDirectory(Path.Combine(_memoryBase, instanceId)).FullName;
            var cpu = _v2 ? memory : Directory.CreateDirectory(Path.Combine(_cpuBase, instanceId)).FullName;
            if (resources.MemoryBytes is { } bytes)
            {
                Write(memory, _v2 ? "memory.max" : "memory.limit_in_bytes", bytes);
            }
            if (resources.Cpu is { } cores)
            {
                var quota = (long)Math.Ceiling(cores * CpuPeriodMicroseconds);
                if (_v2)
                {
                    File.WriteAllText(Path.Combine(cpu, "cpu.max"), $"{quota} {CpuPeriodMicroseconds}");
                }
                else
                {
                    Write(cpu, "cpu.cfs_period_us", CpuPeriodMicroseconds);
                    Write(cpu, "cpu.cfs_quota_us", quota);
                }
            }
            Write(memory, "cgroup.procs", pid);
            if (!_v2)
            {
                Write(cpu, "cgroup.procs", pid);
            }
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"limits not applied: {e.Message}";
        }
    }

    /// <summary>Whether the kernel's OOM killer ended a process of this instance's cgroup.</summary>
    public bool OutOfMemoryKilled(string instanceId)
    {
        var file = Path.Combine(_memoryBase, instanceId, _v2 ? "memory.events" : "memory.oom_control");
        try
        {
            return File.ReadLines(file).Select(l => l.Split(' ')).Any(p => p.Length == 2 && p[0] == "oom_kill" && p[1] != "0");
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Removes an instance's (empty) cgroups once its processes are gone.</summary>
    public void Remove(string instanceId)
    {
        TryRemove(Path.Combine(_memoryBase, instanceId));
        TryRemove(Path.Combine(_cpuBase, instanceId));
    }

    public void RemoveAll()
    {
        TryRemove(_memoryBase);
        TryRemove(_cpuBase);
    }

    private static void Write(string directory, string file, long value) =>
        File.WriteAllText(Path.Combine(directory, file), value.ToString(CultureInfo.InvariantCulture));

    private static void TryRemove(string directory)
    {
        // A cgroup is removed with rmdir (its control files cannot be deleted); it must be empty.
        for (var attempt = 0; attempt < 20 && Directory.Exists(directory); attempt++)
        {
            try
            {
                Directory.Delete(directory);
            }
            catch (IOException)
            {
                Thread.Sleep(10);
            }
            catch (UnauthorizedAccessException)
            {
                return;
            }
        }
    }
}
