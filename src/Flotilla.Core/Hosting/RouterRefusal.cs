using Flotilla.Router;

namespace Flotilla.Hosting;

/// <summary>
/// A router engine's refusals (<see cref="IRouterLimits"/>) on every path that makes a stored
/// revision run, not only on apply: re-apply, undo, promote (refused with nothing changed), and the
/// latest revision when a control plane starts (the start fails before the engine is started).
/// </summary>
internal static class RouterRefusal
{
    /// <summary>Throws when the data plane cannot serve <paramref name="state"/>; <paramref name="doing"/> says what was refused ("revision 3 cannot be re-applied").</summary>
    public static void ThrowIfRefused(IRouter dataPlane, DesiredState state, string doing)
    {
        if (dataPlane is IRouterLimits limits && limits.Refuse(state.Flags is not null, Services(state)) is { } refusal)
        {
            throw new ControlPlaneException($"{doing}: {refusal}", ControlPlaneError.Invalid);
        }
    }

    /// <summary>Why a control plane on this engine cannot start on the store's latest revision, or null.</summary>
    public static string? AtStart(string engine, string dataDirectory, Store.StateStore store)
    {
        if (engine != "haproxy" || store.LatestRevision() is not { } latest)
        {
            return null;
        }
        var state = DesiredState.FromJson(latest.DesiredJson);
        return Router.HAProxy.HAProxyRefusals.Find(state.Flags is not null, Services(state)) is { } found
            ? $"cannot start with --router-engine haproxy: the latest revision ({latest.Number}, in {dataDirectory}) needs what this engine does not do: {found.Subject}: {found.What}; "
              + "start the server with '--router-engine yarp' (the default), and apply a spec without it there before moving to haproxy"
            : null;
    }

    private static IEnumerable<(string, Model.RolloutSpec, bool)> Services(DesiredState state) =>
        state.Services.Select(s => (s.Name, s.RolloutOrDefault, s.Function is not null));
}
