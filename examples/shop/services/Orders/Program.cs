// Orders: the front of the shop. It calls catalog, invoices and reviews through their stable
// endpoints, which Flotilla injects as services__<name>__http__0 (and <NAME>_URL) because
// flotilla.yaml names them in orders' dependsOn (a service gets only those it names), and evaluates
// the feature flag new-pricing over OFREP at FLOTILLA_FLAGS_URL (any OpenFeature SDK's OFREP
// provider does the same; plain HTTP keeps the example free of packages).
using System.Net.Http.Json;
using System.Text.Json.Nodes;

const string Version = "orders 1.0.0";
var instance = Environment.GetEnvironmentVariable("FLOTILLA_INSTANCE") ?? "local";
var builder = WebApplication.CreateBuilder(args);
foreach (var service in new[] { "catalog", "invoices", "reviews" })
{
    builder.Services.AddHttpClient(service, c => c.BaseAddress = new Uri(builder.Configuration[$"services:{service}:http:0"]
        ?? throw new InvalidOperationException($"services__{service}__http__0 is not set: run under Flotilla with {service} in orders' dependsOn or references, or set it")));
}
var flagsUrl = Environment.GetEnvironmentVariable("FLOTILLA_FLAGS_URL");
builder.Services.AddHttpClient("flags", c => c.BaseAddress = new Uri(flagsUrl ?? "http://127.0.0.1:1"));
var app = builder.Build();
var orders = new Dictionary<int, (int ItemId, int Quantity)> { [1] = (1, 2), [2] = (3, 1), [3] = (2, 4) };

app.MapGet("/healthz", () => "ok");
app.MapGet("/ready", () => "ready");
app.MapGet("/", () => new { service = "orders", version = Version, instance });
app.MapGet("/orders/{id:int}", async (int id, IHttpClientFactory http, HttpContext context) =>
{
    if (!orders.TryGetValue(id, out var order))
    {
        return Results.NotFound(new { error = $"no order {id}" });
    }
    var item = await http.CreateClient("catalog").GetFromJsonAsync<JsonObject>($"/items/{order.ItemId}");
    var price = item!["item"]!["price"]!.GetValue<decimal>();
    var invoice = await http.CreateClient("invoices").GetFromJsonAsync<JsonObject>($"/invoices/{id}?price={price}&quantity={order.Quantity}");
    var reviews = await http.CreateClient("reviews").GetFromJsonAsync<JsonObject>($"/reviews/{order.ItemId}");
    // The user and country come from headers (a real shop would take them from the session).
    var user = context.Request.Headers["X-User"].ToString();
    var country = context.Request.Headers["X-Country"].ToString();
    var newPricing = await FlagAsync(http, "new-pricing", user, country);
    var total = invoice!["total"]!.GetValue<decimal>();
    var pricing = new { rule = newPricing ? "new" : "standard", total = newPricing ? Math.Round(total * 0.9m, 2) : total };
    return Results.Ok(new { version = Version, instance, orderId = id, order.Quantity, item = item["item"], invoice, pricing, reviews = reviews!["reviews"] });
});

// OFREP single-flag evaluation; any failure (no flag service, an error answer) means the code default: off.
static async Task<bool> FlagAsync(IHttpClientFactory http, string flag, string user, string country)
{
    if (Environment.GetEnvironmentVariable("FLOTILLA_FLAGS_URL") is null)
    {
        return false;
    }
    try
    {
        var context = new JsonObject { ["country"] = country };
        if (user.Length > 0)
        {
            context["targetingKey"] = user;
        }
        using var response = await http.CreateClient("flags").PostAsJsonAsync($"/ofrep/v1/evaluate/flags/{flag}", new JsonObject { ["context"] = context });
        var answer = await response.Content.ReadFromJsonAsync<JsonObject>();
        return response.IsSuccessStatusCode && answer?["value"] is JsonValue value && value.TryGetValue<bool>(out var on) && on;
    }
    catch (HttpRequestException)
    {
        return false;
    }
}
app.Run();
