using System.Text.RegularExpressions;
using Flotilla.Controllers.Rollouts;
using Flotilla.Tests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Flotilla.Tests.Dashboard;

/// <summary>
/// A person watching a release in the browser: the canary progresses, an analysis fails it, the page says why;
/// undo, a flag toggle and history are buttons that call the API and are audited under the person's token.
/// </summary>
[Collection(ProcessHeavy.Name)]
public sealed class ReleaseDashboardTests : IAsyncLifetime
{
    private const string Canary = """
        strategy: canary
        progressDeadline: 30s
        steps:
          - weight: 20
          - analysis: { interval: 3s, count: 2, minRequests: 10, successRate: ">= 95%" }
          - weight: 50
          - analysis: { interval: 3s, count: 2, minRequests: 10, successRate: ">= 95%" }
        """;

    private const string Flags = """
        {"flags": {
          "new-pricing": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
            "targeting": {"if": [{"==": [{"var": "country"}, "NL"]}, "on", "off"]}}
        }}
        """;

    private DashboardHarness _ui = null!;

    public async Task InitializeAsync()
    {
        SetDefaultExpectTimeout(60_000);
        _ui = await DashboardHarness.StartAsync();
    }

    public async Task DisposeAsync() => await _ui.DisposeAsync();

    [Fact]
    public async Task ACanaryFailsItsAnalysis_ThePageShowsWhy_ThenUndoAndAFlagToggle_AreAuditedAsThePerson()
    {
        await _ui.ApplyAsync("1.0.0", Canary, flags: Flags);
        await _ui.Plane.WaitUntilConvergedAsync(DashboardHarness.Wait);
        var v1 = _ui.Plane.State.Find("reviews")!.Revision;
        using var traffic = new VersionClient(_ui.Endpoint, loops: 3);
        var page = await _ui.SignInAsync(_ui.AdminToken);
        await page.ClickAsync("nav a[data-view=release]");
        await Expect(page.Locator("#releases tr", new() { HasTextString = "reviews" })).ToContainTextAsync("rolling");
        await page.GotoAsync(_ui.Url + "#/release/reviews");
        await Expect(page.Locator("#release-head")).ToContainTextAsync("complete");

        await _ui.ApplyAsync("2.0.0", Canary, extraEnv: ", REVIEWS_FAIL_RATE: \"0.3\"", flags: Flags);
        // The canary progresses on the page: its step and weight, live.
        await Expect(page.Locator("#weight")).ToHaveTextAsync("20%");
        await Expect(page.Locator("#step")).ToContainTextAsync("of 4");
        await Expect(page.Locator("#analysis-table tr[data-analysis]")).ToHaveCountAsync(1);
        await _ui.ScreenshotAsync(page, "release-progressing");

        // The analysis fails: the page says so, and why, without a reload.
        await Expect(page.Locator("#phase")).ToHaveTextAsync("aborted");
        await Expect(page.Locator("#weight")).ToHaveTextAsync("0%");
        await Expect(page.Locator("#reason")).ToContainTextAsync("Why it stopped");
        await Expect(page.Locator("#reason")).ToContainTextAsync("success rate");
        await Expect(page.Locator("#analysis-table td.verdict").First).ToHaveTextAsync("Fail");
        await Expect(page.Locator("#timeline")).ToContainTextAsync("canary at 20% of traffic");
        await Expect(page.Locator(".charts figure.chart canvas")).ToHaveCountAsync(4);
        await Expect(page.Locator("#release-buttons button[data-action=retry]")).ToBeEnabledAsync();
        await Expect(page.Locator("#release-buttons button[data-action=abort]")).ToBeDisabledAsync();
        Assert.Equal(ReleasePhase.Aborted, _ui.Plane.Rollout("reviews").Release!.Phase);
        await _ui.ScreenshotAsync(page, "release-aborted");

        // Undo: confirmed in the page, then an API call audited as the person's token.
        var before = _ui.Plane.Store.LatestRevisionNumber;
        await page.ClickAsync("#release-buttons button[data-action=undo]");
        await Expect(page.Locator("dialog.confirm")).ToContainTextAsync("recorded in the audit as alice");
        await page.ClickAsync("dialog.confirm button[data-confirm]");
        await Expect(page.Locator(".toast.ok")).ToContainTextAsync("Undo reviews: done");
        Assert.Equal(before + 1, _ui.Plane.Store.LatestRevisionNumber);
        Assert.Equal(v1, _ui.Plane.State.Find("reviews")!.Revision);
        Assert.Equal("token:alice", _ui.Plane.Store.Revision(before + 1)!.Actor);

        // History shows the undo by alice, and the failed revision's diff shows what it changed.
        await page.ClickAsync("nav a[data-view=history]");
        var latest = page.Locator($"#revisions tr[data-revision='{before + 1}']");
        await Expect(latest).ToContainTextAsync("token:alice");
        await Expect(latest).ToContainTextAsync("undo reviews");
        await page.Locator($"#revisions tr[data-revision='{before}'] button[data-action=diff]").ClickAsync();
        await Expect(page.Locator("#diff pre.diff .add")).ToContainTextAsync(["REVIEWS_FAIL_RATE"]);
        await Expect(page.Locator("#audit")).ToContainTextAsync("token:alice");
        await _ui.ScreenshotAsync(page, "history");

        // A flag toggle: targeting in words, a confirmation, then the served state changes and names who changed it.
        await page.ClickAsync("nav a[data-view=flags]");
        var flag = page.Locator("#flags tr[data-flag=new-pricing]");
        await Expect(flag.Locator("td.flag-state")).ToHaveTextAsync("ENABLED");
        await Expect(flag).ToContainTextAsync("if country is \"NL\" → \"on\"");
        await flag.Locator("button[data-action=toggle]").ClickAsync();
        await Expect(page.Locator("dialog.confirm")).ToContainTextAsync("Disable flag new-pricing");
        await page.ClickAsync("dialog.confirm button[data-confirm]");
        await Expect(flag.Locator("td.flag-state")).ToHaveTextAsync("DISABLED");
        await Expect(flag).ToContainTextAsync("changed by token:alice");
        Assert.Equal(("DISABLED", "token:alice"), _ui.Plane.FlagViews().Where(f => f.Key == "new-pricing").Select(f => (f.State, f.ChangedBy)).Single());
        await _ui.ScreenshotAsync(page, "flags");

        // Events, filtered to what the analysis did.
        await page.ClickAsync("nav a[data-view=events]");
        await page.FillAsync("#event-filter", "abort");
        await Expect(page.Locator("#events li").First).ToContainTextAsync(new Regex("abort", RegexOptions.IgnoreCase));
        Assert.All(await page.Locator("#events li").AllInnerTextsAsync(), text => Assert.Contains("abort", text, StringComparison.OrdinalIgnoreCase));
        await _ui.ScreenshotAsync(page, "events");
        await traffic.StopAsync();
    }

    [Fact]
    public async Task AParallelRun_ThatDiffers_ShowsTheDifferingFieldWithAnExamplePair_AndWhyItStopped()
    {
        const string parallel = """
            strategy: parallel
            parallel: { duration: 3s, minRequests: 30, maxMismatchRate: 5%, ignore: ["$.version"] }
            """;
        await _ui.ApplyAsync("1.0.0", parallel);
        await _ui.Plane.WaitUntilConvergedAsync(DashboardHarness.Wait);
        using var traffic = new VersionClient(n => $"{_ui.Endpoint}reviews/{n % 3 + 1}", loops: 2);
        var page = await _ui.SignInAsync(_ui.AdminToken);
        await page.GotoAsync(_ui.Url + "#/release/reviews");
        await Expect(page.Locator("#release-head")).ToContainTextAsync("complete");

        // 2.0.0 rounds item 3's average (4.5 stars) to 5: a real difference; timestamps and ids are noise.
        await _ui.ApplyAsync("2.0.0", parallel, extraEnv: ", REVIEWS_AVERAGE: \"integer\"");
        await Expect(page.Locator("#phase")).ToHaveTextAsync("aborted");
        await Expect(page.Locator("#reason")).ToContainTextAsync("parallel run:");
        var field = page.Locator("#parallel tbody tr").First;
        await Expect(field).ToContainTextAsync("$.average");
        await Expect(field).ToContainTextAsync("4.5");
        await Expect(page.Locator("#parallel")).ToContainTextAsync("$.generatedAt");
        await _ui.ScreenshotAsync(page, "release-parallel");
        await traffic.StopAsync();
    }

    [Fact]
    public async Task AReadToken_SeesEverything_ButNoButtonThatChangesAnything()
    {
        await _ui.ApplyAsync("1.0.0", Canary, flags: Flags);
        await _ui.Plane.WaitUntilConvergedAsync(DashboardHarness.Wait);
        var page = await _ui.SignInAsync(_ui.ReadToken);
        await Expect(page.Locator("#who")).ToHaveTextAsync("bob (viewer)");
        await Expect(page.Locator("#services tr[data-service=reviews] td.ready")).ToContainTextAsync("2/2");

        await page.GotoAsync(_ui.Url + "#/release/reviews");
        await Expect(page.Locator("#release-head")).ToContainTextAsync("complete");
        await Expect(page.Locator("#release-buttons")).ToHaveCountAsync(0);

        await page.ClickAsync("nav a[data-view=flags]");
        await Expect(page.Locator("#flags tr[data-flag=new-pricing]")).ToContainTextAsync("ENABLED");
        await Expect(page.Locator("#flags button")).ToHaveCountAsync(0);

        await page.ClickAsync("nav a[data-view=history]");
        await Expect(page.Locator("#revisions tr[data-revision='1']")).ToBeVisibleAsync();
        await Expect(page.Locator("#revisions button[data-action=apply]")).ToHaveCountAsync(0);
    }
}
