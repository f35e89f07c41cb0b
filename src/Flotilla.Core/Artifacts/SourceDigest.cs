using System.Security.Cryptography;
using System.Text;

namespace Flotilla.Artifacts;

/// <summary>
/// The content digest of a build's inputs: every file of the source directory (minus build
/// output), plus the MSBuild and SDK files above it that change how it builds.
/// </summary>
internal static class SourceDigest
{
    private static readonly HashSet<string> SkippedDirectories = new(StringComparer.Ordinal) { "bin", "obj", ".git", ".flotilla", "node_modules", "__pycache__" };
    private static readonly string[] InheritedFiles = ["Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props", "global.json", "NuGet.config", "nuget.config"];

    public static string Compute(string kind, string sourceDirectory, bool includeInherited)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(kind + "\n"));
        foreach (var file in Files(sourceDirectory))
        {
            Append(hash, Path.GetRelativePath(sourceDirectory, file), file);
        }
        if (includeInherited)
        {
            for (var dir = Directory.GetParent(sourceDirectory); dir is not null; dir = dir.Parent)
            {
                foreach (var name in InheritedFiles)
                {
                    var file = Path.Combine(dir.FullName, name);
                    if (File.Exists(file))
                    {
                        Append(hash, "../" + Path.GetRelativePath(sourceDirectory, file), file);
                    }
                }
            }
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    public static IEnumerable<string> Files(string directory) =>
        Directory.EnumerateFiles(directory)
            .Concat(Directory.EnumerateDirectories(directory)
                .Where(d => !SkippedDirectories.Contains(Path.GetFileName(d)))
                .SelectMany(Files))
            .Order(StringComparer.Ordinal);

    private static void Append(IncrementalHash hash, string name, string file)
    {
        hash.AppendData(Encoding.UTF8.GetBytes(name.Replace('\\', '/') + "\0"));
        hash.AppendData(File.ReadAllBytes(file));
        hash.AppendData("\0"u8);
    }
}
