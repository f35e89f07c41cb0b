namespace Flotilla.Runtime.Kubernetes;

/// <summary>An apply to a cluster that could not be done; the message names the object or context, the cause and the fix.</summary>
public sealed class KubernetesApplyException(string message, Exception? inner = null) : Exception(message, inner);
