namespace Flotilla.Router;

/// <summary>
/// A router engine that does not do every router feature: it refuses a spec that needs one it
/// lacks, rather than serve it silently wrong: at apply, and on every other path that makes a
/// stored revision run (re-apply, undo, promote, the latest revision at a start).
/// </summary>
public interface IRouterLimits
{
    /// <summary>Why this engine cannot serve <paramref name="spec"/> (naming the service, the feature and the fix), or null.</summary>
    string? Refuse(Model.SystemSpec spec);

    /// <summary>
    /// The same for a revision as stored (its services resolved): whether it serves flags and, per
    /// service, its rollout and whether it is a function.
    /// </summary>
    string? Refuse(bool flags, IEnumerable<(string Service, Model.RolloutSpec Rollout, bool Function)> services);
}
