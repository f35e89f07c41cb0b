namespace Flotilla.Tests.Support;

/// <summary>A fact observed with strace (a syscall no file shows, such as an fsync); reported skipped where strace is not installed.</summary>
public sealed class StraceFactAttribute : FactAttribute
{
    public StraceFactAttribute()
    {
        if (!File.Exists("/usr/bin/strace"))
        {
            Skip = "needs strace (apt-get install strace)";
        }
    }
}
