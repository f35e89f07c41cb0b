namespace Flotilla.Router.HAProxy;

/// <summary>
/// An instance taken out of its endpoint's backend whose requests in flight are being waited for.
/// <see cref="InCurrent"/>: the current worker still has it as a server (in maintenance); false
/// once a reload left it out of the config (or it was deleted), when only old workers, which
/// finish their requests after a reload, can still carry requests to it.
/// </summary>
internal sealed record Draining(string Endpoint, ServerPlan Server, bool InCurrent);
