namespace Flotilla.Isolation;

/// <summary>What a path itself is (<see cref="FileOwnership.Lstat"/>: a symlink is reported as one, not followed).</summary>
public sealed record FileStatus(FileKind Kind, UnixFileMode Mode, int Uid, int Gid);
