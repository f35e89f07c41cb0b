namespace Flotilla.Hosting;

/// <summary>Where a system keeps its state: artifacts (a cache kept across runs), instance directories and logs.</summary>
public sealed record SystemHostOptions(string StateDirectory, TimeProvider? Time = null)
{
    public string ArtifactsDirectory => Path.Combine(StateDirectory, "artifacts");

    /// <summary>The default: .flotilla/ beside the spec file, like .terraform/ or .git/.</summary>
    public static SystemHostOptions For(Model.SystemSpec spec) => new(Path.Combine(spec.Directory, ".flotilla"));
}
