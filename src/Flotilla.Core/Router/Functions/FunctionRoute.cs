namespace Flotilla.Router.Functions;

/// <summary>
/// How the router serves an endpoint that is a function: requests under <see cref="Path"/> only;
/// while no instance is ready it holds at most <see cref="MaxPending"/> of them for at most
/// <see cref="StartBudget"/> each; a request whose instance sends nothing for <see cref="Timeout"/>
/// gets 504.
/// </summary>
public sealed record FunctionRoute(string Path, int MaxPending, TimeSpan StartBudget, TimeSpan Timeout);
