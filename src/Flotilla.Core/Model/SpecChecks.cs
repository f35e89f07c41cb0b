namespace Flotilla.Model;

/// <summary>Checks that span services: names in dependsOn and references, dependency cycles, endpoint port clashes.</summary>
internal static class SpecChecks
{
    public static void CrossReferences(SpecReader reader, IReadOnlyList<ServiceSpec> services, IReadOnlyDictionary<string, EnvironmentSpec> environments)
    {
        var names = services.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        var known = string.Join(", ", names.Order(StringComparer.Ordinal));
        foreach (var service in services)
        {
            foreach (var dependency in service.DependsOn)
            {
                if (dependency.Name == service.Name)
                {
                    reader.Error(dependency.At, $"services.{service.Name}.dependsOn", "a service cannot depend on itself");
                }
                else if (!names.Contains(dependency.Name))
                {
                    reader.Error(dependency.At, $"services.{service.Name}.dependsOn", UnknownService(dependency.Name, names, known));
                }
            }
            foreach (var reference in service.References)
            {
                if (reference.Name == service.Name)
                {
                    reader.Error(reference.At, $"services.{service.Name}.references", "a service is given its own endpoint without referencing itself; remove it from the list");
                }
                else if (!names.Contains(reference.Name))
                {
                    reader.Error(reference.At, $"services.{service.Name}.references", UnknownService(reference.Name, names, known));
                }
            }
        }
        // Fixed ports: each service's endpoint, and a blue-green service's preview endpoint.
        var ports = services.Where(s => s.Http.Port is not null).Select(s => (Port: s.Http.Port!.Value, s.Name, s.At, Path: $"services.{s.Name}.http.port", What: $"the endpoint of '{s.Name}'"))
            .Concat(services.Where(s => s.Rollout.PreviewPort is not null).Select(s => (Port: s.Rollout.PreviewPort!.Value, s.Name, s.At, Path: $"services.{s.Name}.rollout.preview", What: $"the preview endpoint of '{s.Name}'")));
        foreach (var group in ports.GroupBy(p => p.Port))
        {
            foreach (var clash in group.Skip(1))
            {
                reader.Error(clash.At, clash.Path, $"port {group.Key} is already {group.First().What}; each endpoint needs its own port");
            }
        }
        foreach (var environment in environments.Values)
        {
            foreach (var (service, overlay) in environment.Services)
            {
                if (!names.Contains(service))
                {
                    reader.Error(overlay.At, $"environments.{environment.Name}.services", UnknownService(service, names, known));
                }
            }
        }
        ReportCycles(reader, services);
    }

    private static string UnknownService(string name, IReadOnlyCollection<string> names, string known) =>
        $"unknown service '{name}'{SpecReader.Suggest(name, names)}; services declared: {known}";

    private static void ReportCycles(SpecReader reader, IReadOnlyList<ServiceSpec> services)
    {
        var byName = services.ToDictionary(s => s.Name, StringComparer.Ordinal);
        var state = new Dictionary<string, int>(StringComparer.Ordinal); // 1 = on the stack, 2 = done
        var stack = new List<string>();
        var reported = new HashSet<string>(StringComparer.Ordinal);

        void Visit(ServiceSpec service)
        {
            state[service.Name] = 1;
            stack.Add(service.Name);
            foreach (var dependency in service.DependsOn)
            {
                if (!byName.TryGetValue(dependency.Name, out var next) || next == service)
                {
                    continue;
                }
                if (state.GetValueOrDefault(next.Name) == 1)
                {
                    var cycle = stack.Skip(stack.IndexOf(next.Name)).Append(next.Name).ToList();
                    if (reported.Add(string.Join(">", cycle.Order(StringComparer.Ordinal))))
                    {
                        reader.Error(dependency.At, $"services.{service.Name}.dependsOn", $"dependency cycle: {string.Join(" -> ", cycle)}; remove one of these dependencies");
                    }
                }
                else if (state.GetValueOrDefault(next.Name) == 0)
                {
                    Visit(next);
                }
            }
            stack.RemoveAt(stack.Count - 1);
            state[service.Name] = 2;
        }

        foreach (var service in services.Where(s => !state.ContainsKey(s.Name)))
        {
            Visit(service);
        }
    }

    /// <summary>Services ordered so that dependencies come first (stable for independent ones).</summary>
    public static IReadOnlyList<ServiceSpec> DependencyOrder(IReadOnlyList<ServiceSpec> services)
    {
        var byName = services.ToDictionary(s => s.Name, StringComparer.Ordinal);
        var done = new HashSet<string>(StringComparer.Ordinal);
        var ordered = new List<ServiceSpec>();
        void Add(ServiceSpec service)
        {
            if (!done.Add(service.Name))
            {
                return;
            }
            foreach (var dependency in service.DependsOn)
            {
                Add(byName[dependency.Name]);
            }
            ordered.Add(service);
        }
        foreach (var service in services)
        {
            Add(service);
        }
        return ordered;
    }
}
