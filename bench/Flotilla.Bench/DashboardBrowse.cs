using Microsoft.Playwright;

namespace Flotilla.Bench;

/// <summary>
/// Keeps dashboards open against a running server for a while, for bench/dashboard.sh to measure the server's
/// memory meanwhile: N tabs of Debian's Chromium, each signed in and on one view (overview, instances, events,
/// releases, in turn), all following the live streams. Prints how many rows each tab showed at the end.
/// </summary>
internal static class DashboardBrowse
{
    private static readonly string[] Views = ["overview", "instances", "events", "release"];

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length < 2)
        {
            Console.Error.WriteLine("usage: Flotilla.Bench dashboard URL TOKEN [--tabs 4] [--seconds 60]");
            return 2;
        }
        var (url, token) = (args[0].TrimEnd('/') + "/ui/", args[1]);
        var tabs = Figures.Arg(args, "--tabs", 4);
        var seconds = Figures.Arg(args, "--seconds", 60);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Environment.GetEnvironmentVariable("FLOTILLA_CHROMIUM") ?? "/usr/bin/chromium" });
        var pages = new List<(string View, IPage Page)>();
        for (var i = 0; i < tabs; i++)
        {
            var page = await (await browser.NewContextAsync()).NewPageAsync();
            await page.GotoAsync(url);
            await page.FillAsync("#token", token);
            await page.ClickAsync("button[type=submit]");
            await page.WaitForSelectorAsync("#who");
            var view = Views[i % Views.Length];
            await page.ClickAsync($"nav a[data-view={view}]");
            pages.Add((view, page));
        }
        Console.Error.WriteLine($"{tabs} dashboard tabs open for {seconds} s");
        await Task.Delay(TimeSpan.FromSeconds(seconds));
        foreach (var (view, page) in pages)
        {
            Console.WriteLine($"tab {view}: {await page.Locator("main tbody tr, main ol li").CountAsync()} rows shown");
        }
        return 0;
    }
}
