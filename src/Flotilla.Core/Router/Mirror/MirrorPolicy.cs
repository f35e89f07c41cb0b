namespace Flotilla.Router.Mirror;

/// <summary>
/// A parallel run as the router carries it out: which revision gets copies, of what share of
/// which requests, and how its answers are compared with stable's. A new <see cref="Run"/> starts
/// a new report (a retry compares afresh).
/// </summary>
public sealed record MirrorPolicy(
    string Candidate,
    double Sample,
    IReadOnlyList<string> Methods,
    int MaxBodyBytes,
    IReadOnlyList<string> Headers,
    IReadOnlyList<string> Ignore,
    bool ArraysAsSets,
    string Run = "")
{
    public bool Mirrors(string method) => Methods.Contains(method, StringComparer.OrdinalIgnoreCase);
}
