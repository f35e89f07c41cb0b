namespace Flotilla.Hosting;

/// <summary>A tenant's admission gate, held by one admitted change until it is recorded; released once however often disposed.</summary>
internal sealed class AdmissionHold(SemaphoreSlim gate) : IDisposable
{
    private int _released;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            gate.Release();
        }
    }
}
