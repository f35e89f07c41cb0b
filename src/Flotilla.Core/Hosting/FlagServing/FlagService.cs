using System.Text.Json.Nodes;
using Flotilla.Events;
using Flotilla.Flags;
using Flotilla.Router;
using Flotilla.Store;

namespace Flotilla.Hosting.FlagServing;

/// <summary>
/// How feature flags are served: the revision's flagd document, with the flags operators changed at
/// runtime laid over it, compiled and served by the router's flag port (OFREP). A runtime change is
/// live at once (no restart, no new revision), audited with old → new, and lasts until the spec
/// changes that flag or it is reset; until then it is drift from the spec, and diff says so.
/// </summary>
/// <remarks>
/// It needs the store (runtime changes and their audit), the router (the flag port), the event log
/// and the revision's flags as they stand (<c>declared</c>). It takes no lock: the
/// control plane calls the changing members under its one lock of state changes.
/// The flags are served under the environment's access key (<paramref name="accessKey"/>), which
/// only the environment's instances get, inside FLOTILLA_FLAGS_URL: another tenant's instance can
/// reach the loopback port but cannot read these flags.
/// </remarks>
internal sealed class FlagService(StateStore store, IRouter router, EventLog events, TimeProvider time, Func<FlagsState?> declared, Func<string> accessKey)
{
    private FlagSet _flags = FlagSet.Empty;
    private bool _saidUnkeyed;

    /// <summary>The access key the recorded revision's flags are served under: none for a revision recorded before keys existed.</summary>
    private string? Access => declared() is { Keyed: false } ? null : accessKey();

    /// <summary>The flags' base URL as instances of a new revision get it (FLOTILLA_FLAGS_URL).</summary>
    public string UrlFor(int port) => $"http://127.0.0.1:{port}/{accessKey()}";

    /// <summary>The flags served now (the revision's with runtime changes over them).</summary>
    public FlagSet Served => Volatile.Read(ref _flags);

    /// <summary>The port an apply serves flags on: the spec's, else the one already open (instances keep their FLOTILLA_FLAGS_URL).</summary>
    public async Task<int> OpenAsync(Model.FlagsSpec flags, CancellationToken cancellationToken)
    {
        try
        {
            // Until the revision is recorded the router keeps what it serves; a first apply serves the new flags at once.
            var serving = declared() is not null ? Served.Document : flags.Document;
            return await router.ServeFlagsAsync(flags.Port ?? declared()?.Port, serving, Access, cancellationToken);
        }
        catch (EndpointBindException e)
        {
            throw new ControlPlaneException(e.Message, ControlPlaneError.Conflict);
        }
    }

    /// <summary>Serves the recovered revision's flags; a flag port that cannot be had is said, not fatal.</summary>
    public async Task RecoverAsync(CancellationToken cancellationToken)
    {
        try
        {
            await PublishAsync(cancellationToken);
        }
        catch (EndpointBindException e)
        {
            events.Record("flags", e.Message, warning: true);
        }
    }

    /// <summary>Compiles the flags to serve and hands them to the router; a runtime change the revision's flags no longer accept is dropped, said and audited.</summary>
    public async Task PublishAsync(CancellationToken cancellationToken)
    {
        if (declared() is not { } flags)
        {
            Volatile.Write(ref _flags, FlagSet.Empty);
            if (router.FlagsPort is not null)
            {
                await router.StopFlagsAsync();
            }
            return;
        }
        var set = Compose(flags, store.FlagOverrides(), out var refused);
        foreach (var (flag, why) in refused)
        {
            store.RemoveFlagOverride(flag, "control-plane", "flag reset", $"flag {flag}: runtime change dropped: {why}", time.GetUtcNow());
            events.Record("flags", $"the runtime change of flag {flag} no longer fits the revision's flags and was dropped: {why}", warning: true);
        }
        Volatile.Write(ref _flags, set);
        await router.ServeFlagsAsync(flags.Port, set.Document, Access, cancellationToken);
        if (!flags.Keyed && !_saidUnkeyed)
        {
            _saidUnkeyed = true;
            events.Record("flags", "the flags are served without an access key, because the revision was recorded before flag keys existed: any instance on this machine can read them. The next apply gives instances a keyed FLOTILLA_FLAGS_URL (their flag calls get 404 until they are replaced)", warning: true);
        }
    }

    /// <summary>Serves the recorded revision's flags again as they are (after the router lost them).</summary>
    public Task<int> ServeAgainAsync(FlagsState flags, CancellationToken cancellationToken) =>
        router.ServeFlagsAsync(flags.Port, Served.Document, Access, cancellationToken);

    /// <summary>
    /// The revision's document with each runtime definition in place of the spec's; one that does not
    /// compile is left out (with strict flags, one with a warning too). What flagd would serve is served.
    /// </summary>
    private static FlagSet Compose(FlagsState flags, IReadOnlyDictionary<string, FlagOverride> overrides, out List<(string Flag, string Why)> refused)
    {
        refused = [];
        var document = (JsonObject)JsonNode.Parse(flags.Document)!;
        foreach (var (key, change) in overrides.OrderBy(o => o.Key, StringComparer.Ordinal))
        {
            if (document["flags"] is not JsonObject declared || !declared.ContainsKey(key))
            {
                refused.Add((key, "the spec no longer declares it"));
                continue;
            }
            var previous = declared[key]!.DeepClone();
            declared[key] = JsonNode.Parse(change.DefinitionJson);
            var problems = new List<string>();
            void Problem(string path, string message) => problems.Add($"{path}: {message}");
            FlagDocument.Compile(document, Problem, flags.Strict ? Problem : (_, _) => { });
            if (problems.Count > 0)
            {
                declared[key] = previous;
                refused.Add((key, string.Join("; ", problems)));
            }
        }
        return FlagDocument.Compile(document, (path, message) => throw new InvalidOperationException($"the revision's flags do not compile: {path}: {message}"), (_, _) => { });
    }

    /// <summary>A new revision that changes a flag's definition supersedes the runtime change of that flag (the newest intent wins).</summary>
    public void DropSupersededChanges(FlagsState? before, FlagsState? after, long revision, string actor)
    {
        var old = before?.Definitions() ?? new Dictionary<string, string>();
        var now = after?.Definitions() ?? new Dictionary<string, string>();
        foreach (var (flag, change) in store.FlagOverrides())
        {
            if (old.GetValueOrDefault(flag) != now.GetValueOrDefault(flag))
            {
                store.RemoveFlagOverride(flag, actor, "flag reset", $"flag {flag}: runtime change by {change.Actor} superseded by revision {revision}", time.GetUtcNow());
                events.Record("flags", $"flag {flag}: revision {revision} changes it, so the runtime change by {change.Actor} no longer applies");
            }
        }
    }

    /// <summary>
    /// Changes a flag at runtime: <paramref name="patch"/> holds the keys to set (state, defaultVariant,
    /// targeting, variants, metadata; null removes targeting or the default). Checked like a flag file,
    /// recorded with its audit record, then served. Throws <see cref="ControlPlaneException"/>.
    /// </summary>
    public async Task<FlagView> ChangeAsync(string key, JsonObject patch, string actor, CancellationToken cancellationToken = default)
    {
        var flags = declared() ?? throw new ControlPlaneException("this system declares no flags: add 'flags: flags.json' to the spec and apply it", ControlPlaneError.NotFound);
        var spec = flags.Definitions();
        if (!spec.TryGetValue(key, out var specJson))
        {
            throw new ControlPlaneException($"flag '{key}' is not in the spec (flags: {string.Join(", ", spec.Keys)}); flags are declared in the flag file, in git", ControlPlaneError.NotFound);
        }
        var current = Served.Flags.TryGetValue(key, out var served) ? served.Definition : (JsonObject)JsonNode.Parse(specJson)!;
        var next = (JsonObject)current.DeepClone();
        foreach (var (name, value) in patch)
        {
            if (name is not ("state" or "defaultVariant" or "targeting" or "variants" or "metadata"))
            {
                throw new ControlPlaneException($"'{name}' is not a part of a flag; change state, defaultVariant, targeting, variants or metadata", ControlPlaneError.Invalid);
            }
            if (value is null && name is "targeting" or "metadata")
            {
                next.Remove(name);
            }
            else
            {
                next[name] = value?.DeepClone();
            }
        }
        var definition = next.ToJsonString();
        if (definition == current.ToJsonString())
        {
            return View(key);
        }
        var trial = new Dictionary<string, FlagOverride>(store.FlagOverrides(), StringComparer.Ordinal)
        {
            [key] = new FlagOverride(key, definition, specJson, actor, time.GetUtcNow()),
        };
        Compose(flags, trial, out var refused);
        if (refused.FirstOrDefault(r => r.Flag == key) is { Why: { } why })
        {
            throw new ControlPlaneException($"flag '{key}' would not be valid: {why}", ControlPlaneError.Invalid);
        }
        var detail = $"flag {key}: {Describe(current, next)}";
        if (definition == specJson)
        {
            store.RemoveFlagOverride(key, actor, "flag set", $"{detail} (as the spec says again)", time.GetUtcNow());
        }
        else
        {
            store.SetFlagOverride(trial[key], "flag set", detail);
        }
        await PublishAsync(cancellationToken);
        events.Record("flags", $"{detail} (by {actor})");
        return View(key);
    }

    /// <summary>Drops a flag's runtime change: the spec's definition serves again.</summary>
    public async Task<FlagView> ResetAsync(string key, string actor, CancellationToken cancellationToken = default)
    {
        if (!store.FlagOverrides().TryGetValue(key, out var change))
        {
            _ = View(key); // an unknown flag is NotFound, not "no runtime change"
            throw new ControlPlaneException($"flag '{key}' has no runtime change; it serves as the spec says", ControlPlaneError.Conflict);
        }
        var spec = (JsonObject)JsonNode.Parse(change.SpecJson)!;
        var detail = $"flag {key}: reset to the spec: {Describe((JsonObject)JsonNode.Parse(change.DefinitionJson)!, spec)}";
        store.RemoveFlagOverride(key, actor, "flag reset", detail, time.GetUtcNow());
        await PublishAsync(cancellationToken);
        events.Record("flags", $"{detail} (by {actor})");
        return View(key);
    }

    /// <summary>Every flag with what it serves and where that comes from (the runtime changes read once).</summary>
    public IReadOnlyList<FlagView> Views()
    {
        var changes = store.FlagOverrides();
        return Served.Ordered.Select(f => View(f.Key, changes)).ToList();
    }

    public FlagView View(string key) => View(key, store.FlagOverrides());

    private FlagView View(string key, IReadOnlyDictionary<string, FlagOverride> changes)
    {
        if (!Served.Flags.TryGetValue(key, out var flag))
        {
            throw new ControlPlaneException(declared() is null
                ? "this system declares no flags: add 'flags: flags.json' to the spec and apply it"
                : $"no flag '{key}'; flags: {string.Join(", ", Served.Flags.Keys)}", ControlPlaneError.NotFound);
        }
        var change = changes.GetValueOrDefault(key);
        return new FlagView(key, flag.Enabled ? "ENABLED" : "DISABLED", flag.DefaultVariant, flag.Variants.Keys.ToList(), flag.HasTargeting, flag.Definition,
            change is null ? "spec" : "runtime", change?.Actor, change?.At, change is null ? null : Describe((JsonObject)JsonNode.Parse(change.SpecJson)!, flag.Definition));
    }

    /// <summary>The flags that differ from the spec because of a runtime change (drift from what git says).</summary>
    public IReadOnlyList<FlagView> Drift() => Views().Where(v => v.Source == "runtime").ToList();

    /// <summary>The flags' base URL as the recorded revision's instances get it (FLOTILLA_FLAGS_URL), or null.</summary>
    public string? Url => declared() is { } flags ? flags.Keyed ? UrlFor(flags.Port) : $"http://127.0.0.1:{flags.Port}" : null;

    /// <summary>What differs between two definitions of a flag, part by part: "state ENABLED→DISABLED, targeting {...}→{...}".</summary>
    private static string Describe(JsonObject before, JsonObject after)
    {
        var parts = new List<string>();
        foreach (var name in new[] { "state", "defaultVariant", "variants", "targeting", "metadata" })
        {
            var a = before[name]?.ToJsonString();
            var b = after[name]?.ToJsonString();
            if (a == b)
            {
                continue;
            }
            parts.Add($"{name} {Clip(a)}→{Clip(b)}");
        }
        return parts.Count == 0 ? "no change" : string.Join(", ", parts);
    }

    private static string Clip(string? json) => json is null ? "(none)" : json.Length <= 120 ? json.Trim('"') : json[..117] + "...";
}
