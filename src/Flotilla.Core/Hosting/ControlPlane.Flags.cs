using System.Text.Json.Nodes;
using Flotilla.Flags;
using Flotilla.Router;
using Flotilla.Store;

namespace Flotilla.Hosting;

/// <summary>
/// Feature flags: the revision's flagd document, with the flags operators changed at runtime laid
/// over it, compiled and served by the router's flag port (OFREP). A runtime change is live at once
/// (no restart, no new revision), audited with old → new, and lasts until the spec changes that
/// flag or it is reset; until then it is drift from the spec, and diff says so.
/// </summary>
public sealed partial class ControlPlane
{
    private FlagSet _flags = FlagSet.Empty;

    /// <summary>The flags served now (the revision's with runtime changes over them).</summary>
    public FlagSet Flags => Volatile.Read(ref _flags);

    /// <summary>The port an apply serves flags on: the spec's, else the one already open (instances keep their FLOTILLA_FLAGS_URL).</summary>
    private async Task<int> OpenFlagsAsync(Model.FlagsSpec flags, CancellationToken cancellationToken)
    {
        try
        {
            // Until the revision is recorded the router keeps what it serves; a first apply serves the new flags at once.
            var serving = State.Flags is not null ? Flags.Document : flags.Document;
            return await _router.ServeFlagsAsync(flags.Port ?? State.Flags?.Port, serving, cancellationToken);
        }
        catch (EndpointBindException e)
        {
            throw new ControlPlaneException(e.Message, ControlPlaneError.Conflict);
        }
    }

    private async Task RecoverFlagsAsync(CancellationToken cancellationToken)
    {
        try
        {
            await PublishFlagsAsync(cancellationToken);
        }
        catch (EndpointBindException e)
        {
            Events.Record("flags", e.Message, warning: true);
        }
    }

    /// <summary>Compiles the flags to serve and hands them to the router; a runtime change the revision's flags no longer accept is dropped, said and audited.</summary>
    private async Task PublishFlagsAsync(CancellationToken cancellationToken)
    {
        if (State.Flags is not { } flags)
        {
            Volatile.Write(ref _flags, FlagSet.Empty);
            if (_router.FlagsPort is not null)
            {
                await _router.StopFlagsAsync();
            }
            return;
        }
        var set = Compose(flags, _store.FlagOverrides(), out var refused);
        foreach (var (flag, why) in refused)
        {
            _store.RemoveFlagOverride(flag, "control-plane", "flag reset", $"flag {flag}: runtime change dropped: {why}", _time.GetUtcNow());
            Events.Record("flags", $"the runtime change of flag {flag} no longer fits the revision's flags and was dropped: {why}", warning: true);
        }
        Volatile.Write(ref _flags, set);
        await _router.ServeFlagsAsync(flags.Port, set.Document, cancellationToken);
    }

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
    private void DropSupersededFlagChanges(FlagsState? before, FlagsState? after, long revision, string actor)
    {
        var old = before?.Definitions() ?? new Dictionary<string, string>();
        var now = after?.Definitions() ?? new Dictionary<string, string>();
        foreach (var (flag, change) in _store.FlagOverrides())
        {
            if (old.GetValueOrDefault(flag) != now.GetValueOrDefault(flag))
            {
                _store.RemoveFlagOverride(flag, actor, "flag reset", $"flag {flag}: runtime change by {change.Actor} superseded by revision {revision}", _time.GetUtcNow());
                Events.Record("flags", $"flag {flag}: revision {revision} changes it, so the runtime change by {change.Actor} no longer applies");
            }
        }
    }

    /// <summary>
    /// Changes a flag at runtime: <paramref name="patch"/> holds the keys to set (state, defaultVariant,
    /// targeting, variants, metadata; null removes targeting or the default). Checked like a flag file,
    /// recorded with its audit record, then served. Throws <see cref="ControlPlaneException"/>.
    /// </summary>
    public async Task<FlagView> ChangeFlagAsync(string key, JsonObject patch, string actor, CancellationToken cancellationToken = default)
    {
        await _changing.WaitAsync(cancellationToken);
        try
        {
            var flags = State.Flags ?? throw new ControlPlaneException("this system declares no flags: add 'flags: flags.json' to the spec and apply it", ControlPlaneError.NotFound);
            var spec = flags.Definitions();
            if (!spec.TryGetValue(key, out var specJson))
            {
                throw new ControlPlaneException($"flag '{key}' is not in the spec (flags: {string.Join(", ", spec.Keys)}); flags are declared in the flag file, in git", ControlPlaneError.NotFound);
            }
            var current = Flags.Flags.TryGetValue(key, out var served) ? served.Definition : (JsonObject)JsonNode.Parse(specJson)!;
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
            var trial = new Dictionary<string, FlagOverride>(_store.FlagOverrides(), StringComparer.Ordinal)
            {
                [key] = new FlagOverride(key, definition, specJson, actor, _time.GetUtcNow()),
            };
            Compose(flags, trial, out var refused);
            if (refused.FirstOrDefault(r => r.Flag == key) is { Why: { } why })
            {
                throw new ControlPlaneException($"flag '{key}' would not be valid: {why}", ControlPlaneError.Invalid);
            }
            var detail = $"flag {key}: {Describe(current, next)}";
            if (definition == specJson)
            {
                _store.RemoveFlagOverride(key, actor, "flag set", $"{detail} (as the spec says again)", _time.GetUtcNow());
            }
            else
            {
                _store.SetFlagOverride(trial[key], "flag set", detail);
            }
            await PublishFlagsAsync(cancellationToken);
            Events.Record("flags", $"{detail} (by {actor})");
            return View(key);
        }
        finally
        {
            _changing.Release();
        }
    }

    /// <summary>Drops a flag's runtime change: the spec's definition serves again.</summary>
    public async Task<FlagView> ResetFlagAsync(string key, string actor, CancellationToken cancellationToken = default)
    {
        await _changing.WaitAsync(cancellationToken);
        try
        {
            if (!_store.FlagOverrides().TryGetValue(key, out var change))
            {
                _ = View(key); // an unknown flag is NotFound, not "no runtime change"
                throw new ControlPlaneException($"flag '{key}' has no runtime change; it serves as the spec says", ControlPlaneError.Conflict);
            }
            var spec = (JsonObject)JsonNode.Parse(change.SpecJson)!;
            var detail = $"flag {key}: reset to the spec: {Describe((JsonObject)JsonNode.Parse(change.DefinitionJson)!, spec)}";
            _store.RemoveFlagOverride(key, actor, "flag reset", detail, _time.GetUtcNow());
            await PublishFlagsAsync(cancellationToken);
            Events.Record("flags", $"{detail} (by {actor})");
            return View(key);
        }
        finally
        {
            _changing.Release();
        }
    }

    /// <summary>Every flag with what it serves and where that comes from (the runtime changes read once).</summary>
    public IReadOnlyList<FlagView> FlagViews()
    {
        var changes = _store.FlagOverrides();
        return Flags.Ordered.Select(f => View(f.Key, changes)).ToList();
    }

    public FlagView View(string key) => View(key, _store.FlagOverrides());

    private FlagView View(string key, IReadOnlyDictionary<string, FlagOverride> changes)
    {
        if (!Flags.Flags.TryGetValue(key, out var flag))
        {
            throw new ControlPlaneException(State.Flags is null
                ? "this system declares no flags: add 'flags: flags.json' to the spec and apply it"
                : $"no flag '{key}'; flags: {string.Join(", ", Flags.Flags.Keys)}", ControlPlaneError.NotFound);
        }
        var change = changes.GetValueOrDefault(key);
        return new FlagView(key, flag.Enabled ? "ENABLED" : "DISABLED", flag.DefaultVariant, flag.Variants.Keys.ToList(), flag.HasTargeting, flag.Definition,
            change is null ? "spec" : "runtime", change?.Actor, change?.At, change is null ? null : Describe((JsonObject)JsonNode.Parse(change.SpecJson)!, flag.Definition));
    }

    /// <summary>The flags that differ from the spec because of a runtime change (drift from what git says).</summary>
    public IReadOnlyList<FlagView> FlagDrift() => FlagViews().Where(v => v.Source == "runtime").ToList();

    /// <summary>The flags' base URL as instances get it (FLOTILLA_FLAGS_URL), or null.</summary>
    public string? FlagsUrl => State.Flags is { } flags ? $"http://127.0.0.1:{flags.Port}" : null;

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

/// <summary>One flag as list/get show it: what it serves, and whether an operator changed it at runtime (who, when, how it differs from the spec).</summary>
public sealed record FlagView(string Key, string State, string? DefaultVariant, IReadOnlyList<string> Variants, bool Targeting, JsonObject Definition,
    string Source, string? ChangedBy, DateTimeOffset? ChangedAt, string? Drift);
