namespace Flotilla.Model;

/// <summary>
/// One service as declared (after the environment overlay): what to run, how many, and how to
/// reach and probe it. Exactly one of <see cref="Build"/> (a .NET project) and
/// <see cref="Command"/> (any program) is set.
/// </summary>
public sealed record ServiceSpec
{
    public required string Name { get; init; }
    /// <summary>Absolute path of the .NET project directory or file to publish once.</summary>
    public string? Build { get; init; }
    /// <summary>Program and arguments; <c>${VAR}</c> expands from the instance environment.</summary>
    public IReadOnlyList<string>? Command { get; init; }
    /// <summary>A prebuilt container image to run (runtime docker); its own command unless <see cref="Command"/> overrides it.</summary>
    public string? Image { get; init; }
    /// <summary>Absolute path of a directory snapshotted as the artifact of a command service.</summary>
    public string? Files { get; init; }
    public int Instances { get; init; } = 1;
    public HttpSpec Http { get; init; } = new(null, null, null);
    public IReadOnlyDictionary<string, string> Env { get; init; } = new SortedDictionary<string, string>(StringComparer.Ordinal);
    public ResourcesSpec? Resources { get; init; }
    /// <summary>Services started (ready) before this one; their endpoints are injected, as with <see cref="References"/>.</summary>
    public IReadOnlyList<NameRef> DependsOn { get; init; } = [];
    /// <summary>Services this one calls without waiting for them at start (Aspire's <c>WithReference</c>): their endpoints are injected.</summary>
    public IReadOnlyList<NameRef> References { get; init; } = [];
    public TimeoutsSpec Timeouts { get; init; } = TimeoutsSpec.Default;
    public RestartSpec Restart { get; init; } = RestartSpec.Default;
    public RolloutSpec Rollout { get; init; } = RolloutSpec.Default;
    /// <summary>Secrets by variable: where their values are, never the values.</summary>
    public IReadOnlyList<SecretSpec> Secrets { get; init; } = [];
    /// <summary>Set for an entry of <c>functions:</c>: its trigger and demand scaling (its instance count follows demand).</summary>
    public FunctionSpec? Function { get; init; }
    /// <summary>The service's own database; null when it declares none.</summary>
    public DatabaseSpec? Database { get; init; }
    public required SpecLocation At { get; init; }
}
