namespace Flotilla.Tests.Support;

/// <summary>The checkout the tests run from (found by walking up to Flotilla.slnx).</summary>
public static class Repository
{
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Flotilla.slnx")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("Flotilla.slnx not found above " + AppContext.BaseDirectory);
    }
}
