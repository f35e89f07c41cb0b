using System.Text;
using k8s;

namespace Flotilla.Kubernetes;

/// <summary>
/// Rendered objects as YAML a person can read (KubernetesClient's serializer: the API's field
/// names, nulls left out): one stream of documents, or one file per object in a directory.
/// </summary>
public static class ManifestYaml
{
    public static string Document(IKubernetesObject item) => KubernetesYaml.Serialize(item).TrimEnd() + "\n";

    public static string Stream(KubernetesManifest manifest)
    {
        var text = new StringBuilder();
        foreach (var item in manifest.Objects)
        {
            text.Append("---\n").Append(Document(item));
        }
        return text.ToString();
    }

    /// <summary>The file of an object: its order of apply first, so <c>kubectl apply -f DIR</c> creates the namespace before what lives in it.</summary>
    public static string FileName(int index, IKubernetesObject item) =>
        $"{index:D2}-{item.Kind.ToLowerInvariant()}-{((IKubernetesObject<k8s.Models.V1ObjectMeta>)item).Metadata.Name}.yaml";

    /// <summary>Writes one file per object into <paramref name="directory"/>, first removing the files an earlier render wrote there (a removed service must not linger).</summary>
    public static IReadOnlyList<string> WriteDirectory(KubernetesManifest manifest, string directory)
    {
        Directory.CreateDirectory(directory);
        foreach (var old in Directory.GetFiles(directory, "??-*.yaml"))
        {
            File.Delete(old);
        }
        var written = new List<string>();
        for (var i = 0; i < manifest.Objects.Count; i++)
        {
            var path = Path.Combine(directory, FileName(i, manifest.Objects[i]));
            WriteFile(path, Document(manifest.Objects[i]), manifest.Objects[i] is k8s.Models.V1Secret);
            written.Add(path);
        }
        return written;
    }

    /// <summary>Writes a file; one holding a secret's value is readable by its owner only, from its first byte.</summary>
    public static void WriteFile(string path, string text, bool secret)
    {
        if (!secret)
        {
            File.WriteAllText(path, text);
            return;
        }
        File.Delete(path);
        using var file = new FileStream(path, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite });
        file.Write(Encoding.UTF8.GetBytes(text));
    }
}
