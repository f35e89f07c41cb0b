namespace Flotilla.Flags.Logic;

/// <summary>
/// Semantic versions as flagd's sem_ver reads them (Go's golang.org/x/mod/semver, a "v" added when
/// missing): MAJOR[.MINOR[.PATCH]] with the short forms only without a pre-release or build, no
/// leading zeros, build metadata ignored when comparing. Written here rather than taken from a
/// .NET semver library because those accept and reject other strings, and a flag must split users
/// exactly as flagd does.
/// </summary>
internal sealed record GoSemVer(string Major, string Minor, string Patch, string Prerelease)
{
    public static GoSemVer? Parse(string text)
    {
        var s = text.StartsWith('v') ? text[1..] : text;
        var build = s.IndexOf('+');
        var core = build >= 0 ? s[..build] : s;
        if (build >= 0 && !Identifiers(s[(build + 1)..], numericRule: false))
        {
            return null;
        }
        var dash = core.IndexOf('-');
        var prerelease = dash >= 0 ? core[(dash + 1)..] : "";
        var numbers = (dash >= 0 ? core[..dash] : core).Split('.');
        if (dash >= 0 && !Identifiers(prerelease, numericRule: true))
        {
            return null;
        }
        if (numbers.Length is < 1 or > 3 || numbers.Any(n => !IsNumber(n)))
        {
            return null;
        }
        if (numbers.Length < 3 && (dash >= 0 || build >= 0))
        {
            return null;
        }
        return new GoSemVer(numbers[0], numbers.Length > 1 ? numbers[1] : "0", numbers.Length > 2 ? numbers[2] : "0", prerelease);
    }

    public int CompareTo(GoSemVer other)
    {
        foreach (var (a, b) in new[] { (Major, other.Major), (Minor, other.Minor), (Patch, other.Patch) })
        {
            if (CompareNumbers(a, b) is var c && c != 0)
            {
                return c;
            }
        }
        return ComparePrerelease(Prerelease, other.Prerelease);
    }

    private static bool IsNumber(string s) => s.Length > 0 && s.All(char.IsAsciiDigit) && (s.Length == 1 || s[0] != '0');

    private static bool Identifiers(string s, bool numericRule) =>
        s.Length > 0 && s.Split('.').All(id => id.Length > 0 && id.All(c => char.IsAsciiLetterOrDigit(c) || c == '-')
            && (!numericRule || !id.All(char.IsAsciiDigit) || IsNumber(id)));

    private static int CompareNumbers(string a, string b) => a.Length != b.Length ? a.Length.CompareTo(b.Length) : string.CompareOrdinal(a, b) switch { < 0 => -1, > 0 => 1, _ => 0 };

    private static int ComparePrerelease(string a, string b)
    {
        if (a == b)
        {
            return 0;
        }
        if (a.Length == 0)
        {
            return 1;
        }
        if (b.Length == 0)
        {
            return -1;
        }
        var x = a.Split('.');
        var y = b.Split('.');
        for (var i = 0; i < Math.Min(x.Length, y.Length); i++)
        {
            var xNum = x[i].All(char.IsAsciiDigit);
            var yNum = y[i].All(char.IsAsciiDigit);
            var c = (xNum, yNum) switch
            {
                (true, true) => CompareNumbers(x[i], y[i]),
                (true, false) => -1,
                (false, true) => 1,
                _ => Math.Sign(string.CompareOrdinal(x[i], y[i])),
            };
            if (c != 0)
            {
                return c;
            }
        }
        return x.Length.CompareTo(y.Length);
    }
}
