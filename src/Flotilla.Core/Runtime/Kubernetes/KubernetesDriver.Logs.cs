namespace Flotilla.Runtime.Kubernetes;

/// <summary>The driver's instance logs: where each instance's log is, its first line, and which pods <see cref="PodLogs"/> follows into which log.</summary>
public sealed partial class KubernetesDriver
{
    /// <summary>
    /// Each pod an instance holds whose container has started is followed into that instance's log, from
    /// after what that log holds of it (<see cref="PodLogPositions"/>: a pod adopted after a restart goes on
    /// where the last control plane's copy stopped; a pod made since, from its start). A pod no instance
    /// holds any more (terminating: its container may still print while it stops) is followed, into the
    /// log of the instance that held it last, until it is gone.
    /// </summary>
    private void FollowLogs()
    {
        var pods = new HashSet<string>(StringComparer.Ordinal);
        lock (_gate)
        {
            foreach (var gone in _podLogPaths.Keys.Where(p => !_pods.ContainsKey(p)).ToList())
            {
                _podLogPaths.Remove(gone);
            }
            foreach (var binding in _bindings.Where(b => !b.Gone && b.Pod is not null))
            {
                if (_pods.GetValueOrDefault(binding.Pod!) is not { } pod || pod.Phase == "Pending")
                {
                    continue;
                }
                _podLogPaths[pod.Name] = LogPath(binding.Service, binding.InstanceId);
                pods.Add(pod.Name);
            }
            pods.UnionWith(_podLogPaths.Keys);
        }
        _logs!.Track(pods);
    }

    /// <summary>The log file of the instance a pod holds now (it changes with a binding swap), else of the instance that held it last.</summary>
    private string LogPathOfPod(string pod)
    {
        lock (_gate)
        {
            return _bindings.Find(b => b.Pod == pod && !b.Gone) is { } binding ? LogPath(binding.Service, binding.InstanceId)
                : _podLogPaths.GetValueOrDefault(pod) ?? Path.Combine(_logsDirectory, "kubernetes", pod + ".log");
        }
    }

    /// <summary>How many pods' logs are followed now (for tests).</summary>
    internal int FollowedLogs => _logs?.Following ?? 0;

    private string LogPath(string service, string id) => Path.Combine(_logsDirectory, service, id + ".log");

    /// <summary>The instance's log file starts with where it runs; <see cref="PodLogs"/> copies its pod's output after it.</summary>
    private void WriteLogNote(InstanceLaunch launch)
    {
        try
        {
            var path = LogPath(launch.Service, launch.Id);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.AppendAllText(path, $"--- {DateTimeOffset.UtcNow:O} flotilla: {launch.Id} (revision {launch.Revision}) runs in a pod of ReplicaSet {Namespace ?? "?"}/{ReplicaSets.Name(Owner, launch.Service, launch.Revision)} ({_target}) (its output follows, copied from the API server)\n");
        }
        catch (IOException)
        {
        }
    }
}
