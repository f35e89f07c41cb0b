namespace Flotilla.Isolation;

/// <summary>The kind of a path's own inode (<see cref="FileStatus"/>).</summary>
public enum FileKind
{
    File,
    Directory,
    Symlink,
    Other,
}
