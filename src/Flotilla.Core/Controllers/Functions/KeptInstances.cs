namespace Flotilla.Controllers.Functions;

/// <summary>
/// Instances adopted from a control plane that was killed: its queue deliveries may still run in them, unseen by the
/// router (their client died with that control plane, so the router let go of them and counts the instances idle).
/// They are not scaled below <see cref="Count"/> before <see cref="Until"/>, when any such delivery is past the
/// function's timeout; stopping one sooner would kill a delivery mid-work (seen: a message's handler killed 2 s in).
/// </summary>
public sealed record KeptInstances(int Count, DateTimeOffset Until);
