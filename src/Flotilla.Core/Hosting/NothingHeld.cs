namespace Flotilla.Hosting;

/// <summary>The admission of a control plane that has none to ask: nothing to release.</summary>
internal sealed class NothingHeld : IDisposable
{
    public static readonly NothingHeld Instance = new();

    public void Dispose()
    {
    }
}
