namespace Flotilla.Model;

/// <summary>What a schedule does when an occurrence is due while its previous run is unfinished (Kubernetes CronJob's <c>concurrencyPolicy</c>).</summary>
public enum ConcurrencyPolicy
{
    /// <summary>The occurrence is skipped (the default).</summary>
    Forbid,

    /// <summary>The occurrence runs beside the unfinished one.</summary>
    Allow,

    /// <summary>The unfinished run is stopped (its delivery cut, its message set aside as dead) and the occurrence runs instead.</summary>
    Replace,
}
