namespace Flotilla.Tests.Support;

/// <summary>A fact about instance users: it needs root (to create users and start processes as them), and is reported skipped without it.</summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (!Environment.IsPrivilegedProcess)
        {
            Skip = "needs root: only root creates instance users";
        }
    }
}
