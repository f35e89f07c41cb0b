namespace Flotilla.Tls;

/// <summary>The API's transport cannot be set up as asked (a certificate or key that cannot be read, flags that contradict): nothing was started.</summary>
public sealed class TlsSetupException(string message) : Exception(message);
