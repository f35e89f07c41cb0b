using System.Buffers;
using System.Text;
using static Flotilla.Flags.Logic.LogicValue;

namespace Flotilla.Flags.Logic;

/// <summary>flagd's own operators: sem_ver, starts_with and ends_with (fractional has its own node).</summary>
internal static class FlagdOperators
{
    public static readonly string[] SemVerOperators = ["=", "!=", "<", "<=", ">", ">=", "^", "~"];

    public static readonly IReadOnlyDictionary<string, OperatorSpec> All = new Dictionary<string, OperatorSpec>(StringComparer.Ordinal)
    {
        ["sem_ver"] = new(3, 3, SemVer),
        ["starts_with"] = new(2, 2, (LogicNode[] a, in LogicScope s) =>
            Bool(a[0].Evaluate(s) is string text && a[1].Evaluate(s) is string prefix && text.StartsWith(prefix, StringComparison.Ordinal))),
        ["ends_with"] = new(2, 2, (LogicNode[] a, in LogicScope s) =>
            Bool(a[0].Evaluate(s) is string text && a[1].Evaluate(s) is string suffix && text.EndsWith(suffix, StringComparison.Ordinal))),
    };

    /// <summary>Anything that is not two valid versions and a known operator is false, as in flagd.</summary>
    private static object? SemVer(LogicNode[] args, in LogicScope scope)
    {
        if (args[0].Evaluate(scope) is not string actualText || args[1].Evaluate(scope) is not string op || args[2].Evaluate(scope) is not string targetText)
        {
            return False;
        }
        if (GoSemVer.Parse(actualText) is not { } actual || GoSemVer.Parse(targetText) is not { } target)
        {
            return False;
        }
        var c = actual.CompareTo(target);
        return Bool(op switch
        {
            "=" => c == 0,
            "!=" => c != 0,
            "<" => c < 0,
            "<=" => c <= 0,
            ">" => c > 0,
            ">=" => c >= 0,
            "^" => actual.Major == target.Major,
            "~" => actual.Major == target.Major && actual.Minor == target.Minor,
            _ => false,
        });
    }
}

/// <summary>One bucket of a fractional split: the value it yields and its whole-number weight.</summary>
internal sealed record FractionalBucket(object? Variant, int Weight);

/// <summary>
/// flagd's <c>fractional</c>: a sticky pseudo-random split. The bucketing value (the first argument
/// when it is a string, else the flag key followed by the targeting key) is hashed with MurmurHash3
/// (x86, 32 bits, seed 0, UTF-8), and the hash h maps to bucket (h × total weight) >> 32, the integer
/// arithmetic current flagd uses, so weights need not add up to 100. When the buckets are literals
/// (the usual case) they are read once, at load.
/// </summary>
internal sealed class FractionalNode(LogicNode[] args, IReadOnlyList<FractionalBucket>? constantBuckets, bool bucketByGiven) : LogicNode
{
    public override object? Evaluate(in LogicScope scope)
    {
        if (args.Length < 2)
        {
            return null;
        }
        string? bucketBy = null;
        var first = bucketByGiven ? args[0].Evaluate(scope) : null;
        if (first is string given)
        {
            bucketBy = given;
        }
        else if (first is not null)
        {
            return null;
        }
        var buckets = constantBuckets;
        if (buckets is null)
        {
            var values = new object?[args.Length];
            for (var i = 0; i < args.Length; i++)
            {
                values[i] = i == 0 && bucketByGiven ? first : args[i].Evaluate(scope);
            }
            var skip = values[0] is string or null ? 1 : 0;
            buckets = Buckets(values.AsSpan(skip), out _);
            if (buckets is null)
            {
                return null;
            }
        }
        if (bucketBy is null)
        {
            if (scope.Root is not IReadOnlyDictionary<string, object?> root || !root.TryGetValue("targetingKey", out var key) || key is not string targetingKey)
            {
                return null;
            }
            return Pick(buckets, Hash(scope.FlagKey, targetingKey));
        }
        return Pick(buckets, Hash(bucketBy, ""));
    }

    /// <summary>The buckets of evaluated arguments, or null with the reason when flagd would refuse them.</summary>
    public static IReadOnlyList<FractionalBucket>? Buckets(ReadOnlySpan<object?> values, out string? problem)
    {
        var buckets = new List<FractionalBucket>(values.Length);
        long total = 0;
        foreach (var value in values)
        {
            if (value is not object?[] { Length: > 0 } bucket)
            {
                problem = "each bucket is a list: [variant, weight]";
                return null;
            }
            if (bucket[0] is not (string or bool or double or null))
            {
                problem = "a bucket's first item is the variant: a string, boolean, number or null";
                return null;
            }
            long weight = 1;
            if (bucket.Length > 1 && bucket[1] is not null)
            {
                if (bucket[1] is not double d || d != Math.Floor(d) || d < 0 || d > int.MaxValue)
                {
                    problem = $"a bucket's weight is a whole number from 0 to {int.MaxValue}";
                    return null;
                }
                weight = (long)d;
            }
            total += weight;
            buckets.Add(new FractionalBucket(bucket[0], (int)weight));
        }
        if (total > int.MaxValue)
        {
            problem = $"the weights add up to {total}, more than {int.MaxValue}";
            return null;
        }
        problem = null;
        return buckets;
    }

    public static object? Pick(IReadOnlyList<FractionalBucket> buckets, uint hash)
    {
        ulong total = 0;
        foreach (var bucket in buckets)
        {
            total += (ulong)bucket.Weight;
        }
        if (total == 0)
        {
            return "";
        }
        var point = ((ulong)hash * total) >> 32;
        ulong end = 0;
        foreach (var bucket in buckets)
        {
            end += (ulong)bucket.Weight;
            if (point < end)
            {
                return bucket.Variant;
            }
        }
        return "";
    }

    /// <summary>MurmurHash3 of the UTF-8 bytes of <paramref name="a"/> followed by <paramref name="b"/>, without building the string.</summary>
    public static uint Hash(string a, string b)
    {
        var max = Encoding.UTF8.GetMaxByteCount(a.Length + b.Length);
        byte[]? rented = null;
        var buffer = max <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            var written = Encoding.UTF8.GetBytes(a, buffer);
            written += Encoding.UTF8.GetBytes(b, buffer[written..]);
            return MurmurHash3.Hash32(buffer[..written]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
