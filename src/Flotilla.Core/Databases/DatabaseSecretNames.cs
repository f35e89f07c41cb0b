namespace Flotilla.Databases;

/// <summary>
/// Where provisioning keeps each service's credentials in the secret store: the application's
/// connection string (injected), the owner's (migrations, <c>flotilla db shell</c>), and the
/// read-only one for a replica. Named by service, so that nothing but these names is in desired state.
/// </summary>
public static class DatabaseSecretNames
{
    public static string App(string service) => $"database-{service}";

    public static string Owner(string service) => $"database-{service}-owner";

    public static string ReadOnly(string service) => $"database-{service}-readonly";

    /// <summary>The admin connection string of an engine Flotilla runs.</summary>
    public static string EngineAdmin(string engine) => $"engine-{engine}-admin";
}
