namespace Flotilla.Model;

/// <summary>
/// A function run for each file dropped in <see cref="Directory"/> (an absolute path). A file is
/// taken once its size and time stamp have not changed for <see cref="Settle"/> (a writer still
/// writing is not picked up); names starting with '.' or ending in .tmp, .part or .partial are
/// never taken, so writing under such a name and renaming it in is the safe way to drop a file.
/// </summary>
public sealed record FileTrigger(string Directory, TimeSpan Settle)
{
    public static readonly TimeSpan DefaultSettle = TimeSpan.FromSeconds(1);
}
