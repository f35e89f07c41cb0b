using Flotilla.Api;
using Flotilla.Hosting;
using Flotilla.Runtime;

namespace Flotilla.Cli.Output;

/// <summary>
/// The plain-text form of the live table, for logs and pipes: one line per change of an
/// instance's state, one per change of a service's problem, and one per change of its release.
/// </summary>
internal sealed class StatusLog(TextWriter output)
{
    private readonly Dictionary<string, InstanceState> _states = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string?> _problems = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string?> _releases = new(StringComparer.Ordinal);

    public void Write(SystemView status)
    {
        var stamp = DateTimeOffset.Now.ToString("HH:mm:ss.fff", System.Globalization.CultureInfo.InvariantCulture);
        foreach (var service in status.Services)
        {
            if (_problems.GetValueOrDefault(service.Name) != service.Problem)
            {
                _problems[service.Name] = service.Problem;
                output.WriteLine(service.Problem is null ? $"{stamp} {service.Name}: ok" : $"{stamp} {service.Name}: {service.Problem}");
            }
            if (_releases.GetValueOrDefault(service.Name) != service.Release)
            {
                _releases[service.Name] = service.Release;
                output.WriteLine(service.Release is null ? $"{stamp} {service.Name}: release done" : $"{stamp} {service.Name}: {service.Release}");
            }
            foreach (var instance in service.Instances)
            {
                if (_states.TryGetValue(instance.Id, out var state) && state == instance.State)
                {
                    continue;
                }
                _states[instance.Id] = instance.State;
                var reason = instance.Reason is null ? "" : $" ({instance.Reason})";
                output.WriteLine($"{stamp} {instance.Id} {instance.State} pid={instance.Pid} port={instance.Port} revision={instance.Revision}{reason}");
            }
        }
        output.Flush();
    }
}
