using System.Text.RegularExpressions;
using Flotilla.Runtime;
using Flotilla.Tests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Flotilla.Tests.Dashboard;

/// <summary>The dashboard in a real browser against a real control plane: sign-in, the live overview and instances.</summary>
[Collection(ProcessHeavy.Name)]
public sealed class DashboardTests : IAsyncLifetime
{
    private DashboardHarness _ui = null!;

    public async Task InitializeAsync()
    {
        SetDefaultExpectTimeout(60_000);
        _ui = await DashboardHarness.StartAsync();
    }

    public async Task DisposeAsync() => await _ui.DisposeAsync();

    [Fact]
    public async Task SignIn_ThenOverviewAndInstances_ShowWhatRuns_AndFollowAKilledInstanceLive()
    {
        await _ui.ApplyAsync("1.0.0");
        await _ui.Plane.WaitUntilConvergedAsync(DashboardHarness.Wait);

        var context = await _ui.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(_ui.Url);
        await page.FillAsync("#token", "flo_not-a-token");
        await page.ClickAsync("button[type=submit]");
        await Expect(page.Locator("form.signin .error")).ToContainTextAsync("not known");
        await context.CloseAsync();

        page = await _ui.SignInAsync(_ui.AdminToken);
        await Expect(page.Locator("#who")).ToHaveTextAsync("alice (operator)");
        var reviews = page.Locator("#services tr[data-service=reviews]");
        await Expect(reviews.Locator("td.ready")).ToContainTextAsync("2/2");
        await Expect(reviews).ToContainTextAsync(_ui.Endpoint.TrimEnd('/'));
        await Expect(reviews).ToContainTextAsync("a:1 b:1");
        await Expect(page.Locator("#last-change")).ToContainTextAsync("token:ci");
        await Expect(page.Locator("#live")).ToHaveClassAsync(new Regex("on"));
        await _ui.ScreenshotAsync(page, "overview");

        await page.ClickAsync("nav a[data-view=instances]");
        var rows = page.Locator("#instances tbody tr");
        await Expect(rows).ToHaveCountAsync(2);
        var victim = _ui.Plane.Status().Services.Single().Instances.First();
        var row = page.Locator($"#instances tr[data-instance='{victim.Id}']");
        await Expect(row).ToContainTextAsync(victim.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await Expect(row).ToContainTextAsync(victim.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await Expect(row.Locator("td.state")).ToHaveTextAsync("ready");
        await row.Locator("a").ClickAsync();
        await Expect(page.Locator("#logs-title")).ToHaveTextAsync($"Logs of {victim.Id}");
        await Expect(page.Locator("#logs")).Not.ToHaveTextAsync(new Regex("^(Choose|Cannot)"));
        await _ui.ScreenshotAsync(page, "instances");

        // Killed under the page's eyes: without a reload it shows the instance restarted (a new pid) and ready again.
        Posix.SignalGroup(victim.Pid, Posix.SIGKILL);
        await Eventually.Until(() => _ui.Plane.Status().Services.Single().Instances.Any(i => i.Id == victim.Id && i.Pid != victim.Pid && i.InRotation)
            || _ui.Plane.Status().Services.Single().Instances.All(i => i.Id != victim.Id), DashboardHarness.Wait, "the killed instance to be replaced");
        var now = _ui.Plane.Status().Services.Single().Instances.Where(i => i.InRotation).ToList();
        foreach (var instance in now)
        {
            await Expect(page.Locator($"#instances tr[data-instance='{instance.Id}'] td.pid")).ToHaveTextAsync(instance.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        await Expect(page.Locator("#instances tbody tr td.state", new() { HasTextString = "ready" })).ToHaveCountAsync(2);
        await page.ClickAsync("nav a[data-view=overview]");
        await Expect(page.Locator("#services tr[data-service=reviews] td.ready")).ToContainTextAsync("2/2");

        // The token is revoked while the page is open: its next call is refused and the page asks to sign in again.
        _ui.Plane.Store.RevokeToken("alice", "test", DateTimeOffset.UtcNow);
        await page.ClickAsync("nav a[data-view=history]");
        await Expect(page.Locator("form.signin .error")).ToContainTextAsync("revoked");
    }
}
