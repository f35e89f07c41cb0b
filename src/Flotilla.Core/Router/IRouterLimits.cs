namespace Flotilla.Router;

/// <summary>
/// A router engine that does not do every router feature: it refuses, at apply, a spec that needs
/// one it lacks, rather than serve it silently wrong.
/// </summary>
public interface IRouterLimits
{
    /// <summary>Why this engine cannot serve <paramref name="spec"/> (naming the service, the feature and the fix), or null.</summary>
    string? Refuse(Model.SystemSpec spec);
}
