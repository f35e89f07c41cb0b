using HdrHistogram;

namespace Flotilla.Controllers.Rollouts;

/// <summary>
/// The Mann-Whitney U test on two latency histograms (Kayenta's default judge): is the first
/// sample's latency stochastically greater than the second's? Histogram buckets are ties, which
/// the normal approximation corrects for.
/// </summary>
public static class MannWhitney
{
    /// <summary>The one-sided p-value that <paramref name="candidate"/> is greater than <paramref name="reference"/>; 1 when either is empty.</summary>
    public static double PValueGreater(HistogramBase candidate, HistogramBase reference)
    {
        var counts = new SortedDictionary<long, (long A, long B)>();
        foreach (var v in candidate.RecordedValues())
        {
            counts[v.ValueIteratedTo] = (v.CountAddedInThisIterationStep, 0);
        }
        foreach (var v in reference.RecordedValues())
        {
            counts[v.ValueIteratedTo] = (counts.GetValueOrDefault(v.ValueIteratedTo).A, v.CountAddedInThisIterationStep);
        }
        double n1 = candidate.TotalCount, n2 = reference.TotalCount;
        if (n1 == 0 || n2 == 0)
        {
            return 1;
        }
        // U of the candidate: for each of its samples, the reference samples below it, plus half the ties.
        double u = 0, below = 0, ties = 0;
        foreach (var (_, (a, b)) in counts)
        {
            u += a * (below + b / 2.0);
            below += b;
            double t = a + b;
            ties += t * t * t - t;
        }
        var n = n1 + n2;
        var variance = n1 * n2 / 12.0 * (n + 1 - ties / (n * (n - 1)));
        if (variance <= 0)
        {
            return 1;
        }
        var z = (u - n1 * n2 / 2.0 - 0.5) / Math.Sqrt(variance);
        return 0.5 * Erfc(z / Math.Sqrt(2));
    }

    /// <summary>The complementary error function (Numerical Recipes' erfcc, relative error below 1.2e-7).</summary>
    private static double Erfc(double x)
    {
        var z = Math.Abs(x);
        var t = 1 / (1 + 0.5 * z);
        var r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
            + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2 - r;
    }
}
