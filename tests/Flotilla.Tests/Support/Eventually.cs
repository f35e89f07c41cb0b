namespace Flotilla.Tests.Support;

/// <summary>Bounded waits: every wait in these tests has a generous limit and says what it waited for.</summary>
public static class Eventually
{
    public static Task Until(Func<bool> condition, TimeSpan timeout, string what) => Until(() => Task.FromResult(condition()), timeout, what);

    public static async Task Until(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out after {timeout.TotalSeconds:0}s waiting for {what}");
            }
            await Task.Delay(20);
        }
    }
}
