namespace Flotilla.Router.HAProxy;

/// <summary>One instance as a server of its endpoint's backend: its HAProxy name, address and weight (0..256).</summary>
internal sealed record ServerPlan(string Name, string InstanceId, string Revision, string Host, int Port, int Weight)
{
    /// <summary>host:port as HAProxy reads it (an IPv6 address needs no brackets: the last colon starts the port).</summary>
    public string Address => $"{Host}:{Port}";
}
