using System.Security.Cryptography;

namespace Flotilla.Router.Mirror;

/// <summary>An answer as compared: status, headers, and the body (or, above the size limit, its hash and length only).</summary>
public sealed record Capture(int Status, IReadOnlyDictionary<string, string> Headers, byte[]? Body, string BodyHash, long Length)
{
    public bool Hashed => Body is null;
}

/// <summary>
/// Passes a response body through to the client unchanged while keeping a copy (up to a limit)
/// and a running hash of all of it, for the comparison after the response is done.
/// </summary>
internal sealed class TeeStream(Stream inner, int limit) : Stream
{
    private readonly MemoryStream _copy = new();
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _length;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => _length;
    public override long Position { get => _length; set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        inner.Write(buffer);
        Keep(buffer);
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await inner.WriteAsync(buffer, cancellationToken);
        Keep(buffer.Span);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    private void Keep(ReadOnlySpan<byte> buffer)
    {
        _length += buffer.Length;
        _hash.AppendData(buffer);
        if (_copy.Length + buffer.Length <= limit)
        {
            _copy.Write(buffer);
        }
    }

    /// <summary>What went through: the copy when all of it fit under the limit.</summary>
    public (byte[]? Body, string Hash, long Length) Result() =>
        (_length <= limit ? _copy.ToArray() : null, Convert.ToHexStringLower(_hash.GetHashAndReset()), _length);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
            _copy.Dispose();
        }
        base.Dispose(disposing);
    }
}
