namespace Flotilla.Tenancy;

/// <summary>
/// What one service of an environment takes, as a quota sees it. <see cref="Surge"/> is how many
/// instances a rollout to a new revision runs beside <see cref="Instances"/> at its peak (0 when
/// the revision does not change). A function counts its <see cref="FunctionMax"/> instead.
/// </summary>
public sealed record ServiceFootprint(string Name, int Instances, int Surge, double Cpu, long MemoryBytes, int? FunctionMax = null)
{
    /// <summary>At the peak of the change (a rollout's surge included) or at rest.</summary>
    public QuotaUse Use(bool peak)
    {
        var running = FunctionMax ?? (Instances + (peak ? Surge : 0));
        return new QuotaUse(FunctionMax is null ? running : 0, running * Cpu, running * MemoryBytes, FunctionMax ?? 0);
    }
}
