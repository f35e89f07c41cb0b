using YamlDotNet.RepresentationModel;

namespace Flotilla.Model;

/// <summary>Reads <c>engines:</c> and a service's <c>database:</c>.</summary>
internal static class DatabaseReader
{
    /// <summary>An overlay's <c>database: { engine: ... }</c> names a SQLite file with this word.</summary>
    public const string Sqlite = "sqlite";

    /// <param name="where">Where the mapping is: <c>engines</c>, or <c>environments.E.engines</c>.</param>
    public static IReadOnlyList<EngineSpec> Engines(SpecReader reader, YamlNode node, string where = "engines")
    {
        var engines = new List<EngineSpec>();
        foreach (var (name, value, keyNode) in reader.Mapping(node, where, null))
        {
            var path = SpecReader.Join(where, name);
            if (!Names.IsServiceName(name))
            {
                reader.Error(keyNode, path, $"'{name}' is not a valid engine name: {Names.ServiceNameHelp}");
                continue;
            }
            if (name == Sqlite)
            {
                reader.Error(keyNode, path, $"'{Sqlite}' is reserved (an environment's 'database: {{ engine: {Sqlite} }}' means a SQLite file): give this engine another name");
                continue;
            }
            string? kind = null, secret = null;
            var replicas = 0;
            YamlNode? replicasNode = null;
            TimeSpan? failover = null;
            foreach (var (key, item, _) in reader.Mapping(value, path, SpecKeys.Engine))
            {
                var at = SpecReader.Join(path, key);
                switch (key)
                {
                    case "kind":
                        kind = reader.String(item, at);
                        if (kind is not null && !EngineSpec.Kinds.Contains(kind))
                        {
                            reader.Error(item, at, $"unknown engine kind '{kind}'{SpecReader.Suggest(kind, EngineSpec.Kinds)}: one of {string.Join(", ", EngineSpec.Kinds)} (SQLite needs no engine: leave 'engine' out of the service's database)");
                            kind = null;
                        }
                        break;
                    case "replicas":
                        replicasNode = item;
                        replicas = reader.Int(item, at, 0, 5, "a number of streaming replicas") ?? 0;
                        break;
                    case "failover":
                        // 0s is allowed here (promote at once), unlike most durations.
                        if (item is YamlScalarNode { Value: { } text } && Quantities.TryParseDuration(text, out var after) && after >= TimeSpan.Zero)
                        {
                            failover = after;
                        }
                        else
                        {
                            reader.Error(item, at, $"must be how long the primary may be down before a replica is promoted: {Quantities.DurationHelp} (0s: at once)");
                        }
                        break;
                    default:
                        foreach (var (externalKey, externalValue, _) in reader.Mapping(item, at, SpecKeys.ExternalEngine))
                        {
                            secret = reader.String(externalValue, SpecReader.Join(at, externalKey));
                            if (secret is not null && !Names.IsServiceName(secret))
                            {
                                reader.Error(externalValue, SpecReader.Join(at, externalKey), $"'{secret}' is not a secret name: {Names.ServiceNameHelp}");
                            }
                        }
                        if (secret is null && item is YamlMappingNode)
                        {
                            reader.Error(item, at, "give the secret that holds the server's admin connection string: external: { secret: NAME } (flotilla secret set NAME --from-file FILE)");
                        }
                        break;
                }
            }
            if (kind is null && value is YamlMappingNode mapping && !mapping.Children.Keys.OfType<YamlScalarNode>().Any(k => k.Value == "kind"))
            {
                reader.Error(value, path, $"missing 'kind': one of {string.Join(", ", EngineSpec.Kinds)}");
            }
            if (secret is not null && replicas > 0)
            {
                reader.Error(replicasNode!, SpecReader.Join(path, "replicas"), "an external server's replicas are its operator's: 'replicas' is for a server Flotilla runs (leave out 'external')");
            }
            if (secret is not null && failover is not null)
            {
                reader.Error(value, SpecReader.Join(path, "failover"), "an external server's failover is its operator's: 'failover' is for a server Flotilla runs (leave out 'external')");
            }
            if (kind is not null)
            {
                engines.Add(new EngineSpec(name, kind, replicas, secret, reader.At(value), failover));
            }
        }
        return engines;
    }

    public static DatabaseSpec? Database(SpecReader reader, string service, YamlNode node, string path, string directory)
    {
        string name = DatabaseSpec.DefaultName(service);
        string? engine = null, migrations = null;
        if (SpecReader.IsNull(node))
        {
            // 'database:' alone, or 'database: {}': a SQLite file with no migrations.
            return new DatabaseSpec(name, null, null, reader.At(node));
        }
        foreach (var (key, value, _) in reader.Mapping(node, path, SpecKeys.Database))
        {
            var at = SpecReader.Join(path, key);
            switch (key)
            {
                case "engine":
                    engine = reader.String(value, at);
                    break;
                case "name":
                    if (reader.String(value, at) is { } given)
                    {
                        if (DatabaseSpec.IsName(given))
                        {
                            name = given;
                        }
                        else
                        {
                            reader.Error(value, at, $"'{given}' is not a valid database name: {DatabaseSpec.NameHelp}");
                        }
                    }
                    break;
                default:
                    if (reader.String(value, at) is { } relative)
                    {
                        migrations = Path.GetFullPath(Path.Combine(directory, relative));
                        if (!Directory.Exists(migrations))
                        {
                            reader.Error(value, at, $"'{relative}' is not a directory (looked for {migrations}); give the directory of the ordered SQL files (001_create.sql, 002_...)");
                            migrations = null;
                        }
                    }
                    break;
            }
        }
        return node is YamlMappingNode ? new DatabaseSpec(name, engine, migrations, reader.At(node)) : null;
    }

    /// <summary>An environment's <c>database:</c> of a service: only where it lives (<c>engine: NAME</c> or <c>engine: sqlite</c>).</summary>
    public static DatabaseOverlaySpec? Overlay(SpecReader reader, YamlNode node, string path)
    {
        string? engine = null;
        foreach (var (key, value, _) in reader.Mapping(node, path, SpecKeys.DatabaseOverlay))
        {
            engine = reader.String(value, SpecReader.Join(path, key));
        }
        if (engine is null)
        {
            if (node is YamlMappingNode || SpecReader.IsNull(node))
            {
                reader.Error(node, path, $"say where the database lives in this environment: 'database: {{ engine: NAME }}' (an engine of the spec or of this environment) or 'database: {{ engine: {Sqlite} }}'");
            }
            return null;
        }
        return new DatabaseOverlaySpec(engine == Sqlite ? null : engine, reader.At(node));
    }

    /// <summary>
    /// Each environment's database overlays: of a service that has a database, on an engine of the
    /// base spec or of that environment; and no two services share a database there either.
    /// </summary>
    public static void CheckEnvironments(SpecReader reader, IReadOnlyList<ServiceSpec> services, IReadOnlyList<EngineSpec> engines, IEnumerable<EnvironmentSpec> environments)
    {
        foreach (var environment in environments)
        {
            var names = engines.Select(e => e.Name).Union(environment.Engines?.Select(e => e.Name) ?? []).ToList();
            var placed = new List<(ServiceSpec Service, string? Engine, SpecLocation At)>();
            foreach (var service in services.Where(s => s.Database is not null))
            {
                var overlay = environment.Services.GetValueOrDefault(service.Name)?.Database;
                placed.Add((service, overlay is null ? service.Database!.Engine : overlay.Engine, overlay?.At ?? service.Database!.At));
            }
            foreach (var (service, own) in environment.Services.Where(s => s.Value.Database is not null))
            {
                var path = $"environments.{environment.Name}.services.{service}.database";
                var declared = services.FirstOrDefault(s => s.Name == service);
                if (declared is not null && declared.Database is null)
                {
                    reader.Error(own.Database!.At, path, $"service '{service}' has no database in the base spec: declare 'database:' under services.{service} (an environment chooses where a database lives, not whether there is one)");
                }
                else if (own.Database!.Engine is { } engine && !names.Contains(engine))
                {
                    var known = names.Count == 0 ? $"neither the spec nor environment '{environment.Name}' declares engines (add 'engines: {{ pg: {{ kind: postgres }} }}' under environments.{environment.Name})" : $"engines here: {string.Join(", ", names)}";
                    reader.Error(own.Database.At, $"{path}.engine", $"unknown engine '{engine}'{SpecReader.Suggest(engine, names)}; {known}, or '{Sqlite}' for a SQLite file");
                }
            }
            foreach (var group in placed.GroupBy(p => (p.Engine, p.Service.Database!.Name)))
            {
                foreach (var clash in group.Skip(1))
                {
                    reader.Error(clash.At, $"environments.{environment.Name}.services.{clash.Service.Name}.database",
                        $"in environment '{environment.Name}', database '{group.Key.Name}' on {group.Key.Engine ?? "SQLite"} is already the database of '{group.First().Service.Name}'; each service has its own (give one another 'name', or another engine)");
                }
            }
        }
    }

    /// <summary>Every database names a declared engine, and no two services share a database name on one engine.</summary>
    public static void Check(SpecReader reader, IReadOnlyList<ServiceSpec> services, IReadOnlyList<EngineSpec> engines)
    {
        var names = engines.Select(e => e.Name).ToList();
        foreach (var service in services.Where(s => s.Database?.Engine is not null))
        {
            var engine = service.Database!.Engine!;
            if (!names.Contains(engine))
            {
                var known = names.Count == 0 ? "this spec declares no engines (add 'engines: { pg: { kind: postgres } }', or leave 'engine' out for SQLite)" : $"engines declared: {string.Join(", ", names)}";
                reader.Error(service.Database.At, $"services.{service.Name}.database.engine", $"unknown engine '{engine}'{SpecReader.Suggest(engine, names)}; {known}");
            }
        }
        foreach (var group in services.Where(s => s.Database is not null).GroupBy(s => (s.Database!.Engine, s.Database.Name)))
        {
            foreach (var clash in group.Skip(1))
            {
                reader.Error(clash.Database!.At, $"services.{clash.Name}.database.name",
                    $"database '{group.Key.Name}' is already the database of '{group.First().Name}'; each service has its own (give this one another 'name')");
            }
        }
    }
}
