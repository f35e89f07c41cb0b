using System.Globalization;
using System.Text;

namespace Flotilla.Flags.Logic;

/// <summary>
/// A number as Go's <c>fmt.Sprintf("%v", float64)</c> writes it: the shortest digits that read back
/// the same, plain while the decimal exponent is from -4 to 5, else <c>d.ddde±XX</c>. flagd's sem_ver
/// turns a number in the context into a version this way, so <c>2</c> is "2" (a version) and
/// <c>1000000</c> is "1e+06" (not one).
/// </summary>
internal static class GoNumber
{
    public static string Format(double value)
    {
        if (double.IsNaN(value))
        {
            return "NaN";
        }
        if (double.IsInfinity(value))
        {
            return value > 0 ? "+Inf" : "-Inf";
        }
        var (digits, point) = ShortestDigits(Math.Abs(value));
        var sign = value < 0 || (value == 0 && double.IsNegative(value)) ? "-" : "";
        if (digits.Length == 0)
        {
            return sign + "0";
        }
        var exponent = point - 1;
        var text = new StringBuilder(sign);
        if (exponent < -4 || exponent >= 6)
        {
            text.Append(digits[0]);
            if (digits.Length > 1)
            {
                text.Append('.').Append(digits, 1, digits.Length - 1);
            }
            text.Append('e').Append(exponent < 0 ? '-' : '+').Append(Math.Abs(exponent).ToString("00", CultureInfo.InvariantCulture));
            return text.ToString();
        }
        if (point <= 0)
        {
            return text.Append("0.").Append('0', -point).Append(digits).ToString();
        }
        if (point >= digits.Length)
        {
            return text.Append(digits).Append('0', point - digits.Length).ToString();
        }
        return text.Append(digits, 0, point).Append('.').Append(digits, point, digits.Length - point).ToString();
    }

    /// <summary>The significant digits of the shortest round-trip form, and where the decimal point goes (0.0123: "123", -1).</summary>
    private static (string Digits, int Point) ShortestDigits(double value)
    {
        var r = value.ToString("R", CultureInfo.InvariantCulture);
        var e = r.IndexOf('E', StringComparison.Ordinal);
        var mantissa = e < 0 ? r : r[..e];
        var exponent = e < 0 ? 0 : int.Parse(r[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var dot = mantissa.IndexOf('.', StringComparison.Ordinal);
        var digits = dot < 0 ? mantissa : mantissa.Remove(dot, 1);
        var point = (dot < 0 ? mantissa.Length : dot) + exponent;
        var leading = digits.Length - digits.TrimStart('0').Length;
        return (digits.Trim('0'), point - leading);
    }
}
