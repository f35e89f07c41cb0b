namespace Flotilla.Controllers.GitOps;

/// <summary>What GitOps needs of the system it keeps as git says; the control plane implements it.</summary>
internal interface IGitOpsTarget
{
    /// <summary>
    /// Applies a commit's spec as <paramref name="actor"/>: the new revision's number, or null when it
    /// changed nothing. A spec that cannot be applied throws <see cref="Model.SpecException"/>,
    /// <see cref="Artifacts.ArtifactBuildException"/> or <see cref="CommitRefusedException"/>, with nothing changed.
    /// </summary>
    Task<long?> ApplyAsync(string specYaml, string specFile, string? environment, string actor, string commit, string note, CancellationToken cancellationToken);

    /// <summary>How many instances the applied revision declares for a service (null when it has no such service).</summary>
    int? DeclaredInstances(string service);

    /// <summary>The flags changed at runtime, each with how to reset it to the spec.</summary>
    IReadOnlyList<GitOpsDrift> FlagDrift();

    /// <summary>Hands the controllers the desired state as the store has it now (after a self-heal).</summary>
    void Publish();

    /// <summary>Whether every service has its desired number of ready instances and nothing else.</summary>
    bool AllReady { get; }
}
