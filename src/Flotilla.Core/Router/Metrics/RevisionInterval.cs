using HdrHistogram;
using HdrHistogram.Utilities;

namespace Flotilla.Router.Metrics;

/// <summary>
/// Requests to one revision of a service over one interval: counts by status class (1xx to 5xx)
/// and the latency histogram in microseconds.
/// </summary>
public sealed record RevisionInterval(string Service, string Revision, long[] Classes, HistogramBase Latency)
{
    public long Requests => Classes.Sum();

    /// <summary>The wire form for the router admin API: the histogram in HdrHistogram's compressed encoding.</summary>
    public Wire ToWire()
    {
        var buffer = ByteBuffer.Allocate(Latency.GetNeededByteBufferCapacity());
        var length = HistogramEncoding.EncodeIntoCompressedByteBuffer(Latency, buffer);
        buffer.Position = 0;
        var bytes = new byte[length];
        for (var i = 0; i < length; i++)
        {
            bytes[i] = buffer.Get();
        }
        return new Wire(Service, Revision, Classes, Convert.ToBase64String(bytes));
    }

    public static RevisionInterval FromWire(Wire wire) =>
        new(wire.Service, wire.Revision, wire.Classes, HistogramEncoding.DecodeFromCompressedByteBuffer(ByteBuffer.Allocate(Convert.FromBase64String(wire.Histogram)), 0));

    public sealed record Wire(string Service, string Revision, long[] Classes, string Histogram);
}
