namespace Flotilla.Controllers.GitOps;

/// <summary>An apply the system refused for a reason other than the spec or a build (a port taken, a secret missing).</summary>
internal sealed class CommitRefusedException(string message, Exception inner) : Exception(message, inner);
