using Flotilla.Api;
using Flotilla.Hosting;
using Flotilla.Tests.Support;
using Microsoft.Playwright;

namespace Flotilla.Tests.Dashboard;

/// <summary>
/// A real control plane with its API (and so /ui) on a loopback port, real instances of the example's reviews
/// service, an admin and a read token, and Debian's Chromium driven by Playwright. Disposal closes the browser,
/// stops every instance and removes the directory, so a failing test leaks nothing.
/// </summary>
public sealed class DashboardHarness : IAsyncDisposable
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);
    private static readonly string Reviews = Path.Combine(Repository.Root, "examples", "shop", "services", "Reviews");
    private readonly TempDirectory _dir = new("flotilla-ui");
    private readonly List<string> _pageErrors = [];
    private IPlaywright? _playwright;

    private DashboardHarness()
    {
    }

    public ControlPlane Plane { get; private set; } = null!;
    public ApiServer Api { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;
    public string AdminToken { get; private set; } = "";
    public string ReadToken { get; private set; } = "";
    public string Url => Api.Url + "/ui/";

    /// <summary>Where the tests save a screenshot of each view (FLOTILLA_SCREENSHOTS, else beside the test binaries).</summary>
    public static string Screenshots => Environment.GetEnvironmentVariable("FLOTILLA_SCREENSHOTS") is { Length: > 0 } dir ? dir : Path.Combine(AppContext.BaseDirectory, "screenshots");

    /// <summary>Debian's Chromium (apt-get install chromium); FLOTILLA_CHROMIUM names another build.</summary>
    public static string Chromium => Environment.GetEnvironmentVariable("FLOTILLA_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    public static async Task<DashboardHarness> StartAsync()
    {
        var harness = new DashboardHarness();
        try
        {
            harness.Plane = await ControlPlane.StartAsync(new ControlPlaneOptions(Path.Combine(harness._dir.Path, "data")));
            harness.Api = await ApiServer.StartAsync(harness.Plane, new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
            harness.AdminToken = harness.Plane.Store.CreateToken("alice", Flotilla.Tenancy.TenantRoles.Operator, "test", DateTimeOffset.UtcNow);
            harness.ReadToken = harness.Plane.Store.CreateToken("bob", Flotilla.Tenancy.TenantRoles.Viewer, "test", DateTimeOffset.UtcNow);
            Assert.True(File.Exists(Chromium), $"no browser at {Chromium}: apt-get install chromium (or set FLOTILLA_CHROMIUM)");
            harness._playwright = await Playwright.CreateAsync();
            harness.Browser = await harness._playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium, Headless = true, Timeout = 60_000 });
            Directory.CreateDirectory(Screenshots);
            return harness;
        }
        catch
        {
            await harness.DisposeAsync();
            throw;
        }
    }

    /// <summary>A fresh browser context (its own session storage), its page signed in with <paramref name="token"/>.</summary>
    public async Task<IPage> SignInAsync(string token)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1360, Height = 900 } });
        context.SetDefaultTimeout(30_000);
        var page = await context.NewPageAsync();
        // A script error the page swallowed would pass every assertion on what it shows: collect and fail on them.
        page.PageError += (_, error) => { lock (_pageErrors) { _pageErrors.Add(error); } };
        await page.GotoAsync(Url);
        await page.FillAsync("#token", token);
        await page.ClickAsync("button[type=submit]");
        await Assertions.Expect(page.Locator("#who")).ToBeVisibleAsync();
        return page;
    }

    public async Task ScreenshotAsync(IPage page, string name) =>
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, name + ".png"), FullPage = false });

    public Task<ApplyResult> ApplyAsync(string version, string rollout = "", string extraEnv = "", string flags = "")
    {
        var yaml = $$"""
            name: dashboard-demo
            zones: [a, b]
            {{(flags.Length > 0 ? "flags: flags.json" : "")}}
            services:
              reviews:
                command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
                files: {{Reviews}}
                instances: 2
                http: { health: /healthz, ready: /ready }
                env: { REVIEWS_VERSION: "{{version}}"{{extraEnv}} }
            {{(rollout.Length > 0 ? "    rollout:\n" + string.Join('\n', rollout.Split('\n').Select(l => "      " + l)) : "")}}
            """;
        if (flags.Length > 0)
        {
            File.WriteAllText(Path.Combine(_dir.Path, "flags.json"), flags);
        }
        var file = Path.Combine(_dir.Path, "flotilla.yaml");
        File.WriteAllText(file, yaml);
        return Plane.ApplyAsync(new ApplyRequest(yaml, file, null, null, "token:ci"));
    }

    public string Endpoint => $"http://127.0.0.1:{Plane.Endpoints["reviews"]}/";

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }
        _playwright?.Dispose();
        if (Api is not null)
        {
            await Api.DisposeAsync();
        }
        if (Plane is not null)
        {
            await Plane.StopDataPlaneAsync();
            await Plane.DisposeAsync();
        }
        Assert.Empty(ProcessScan.Mentioning(_dir.Path));
        _dir.Dispose();
        Assert.True(_pageErrors.Count == 0, $"script errors in the page: {string.Join(" | ", _pageErrors)}");
    }
}
