// Orders: the front of the shop. It calls catalog, invoices and reviews through their stable
// endpoints, which Flotilla injects as services__<name>__http__0 (and <NAME>_URL) because
// flotilla.yaml names them in orders' dependsOn (a service gets only those it names), and evaluates
// the feature flag new-pricing over OFREP at FLOTILLA_FLAGS_URL (any OpenFeature SDK's OFREP
// provider does the same; plain HTTP keeps the example free of packages). Its orders are in its own
// database (OrderStore.cs): SQLite by default, PostgreSQL in environment prod.
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
var store = new OrderStore(builder.Configuration.GetConnectionString("orders")
    ?? throw new InvalidOperationException("ConnectionStrings__orders is not set: run under Flotilla (flotilla.yaml gives orders a database), or set it, e.g. to 'Data Source=orders.db'"));
var flagsUrl = Environment.GetEnvironmentVariable("FLOTILLA_FLAGS_URL");
// The URL has a path (the environment's access key): a base address ending in '/' and relative paths keep it.
builder.Services.AddHttpClient("flags", c => c.BaseAddress = new Uri((flagsUrl ?? "http://127.0.0.1:1").TrimEnd('/') + "/"));
var app = builder.Build();

app.MapGet("/healthz", () => "ok");
app.MapGet("/ready", async (CancellationToken ct) => await store.PingAsync(ct) ? Results.Text("ready") : Results.Text($"not ready: its {store.Engine} database does not answer", statusCode: 503));
app.MapGet("/", () => new { service = "orders", version = Version, instance, database = store.Engine });
app.MapPost("/orders", async (NewOrder order, CancellationToken ct) =>
{
    if (order.ItemId <= 0 || order.Quantity <= 0)
    {
        return Results.BadRequest(new { error = "itemId and quantity must be positive" });
    }
    var added = await store.AddAsync(order.ItemId, order.Quantity, ct);
    return Results.Created($"/orders/{added.Id}", added);
});
app.MapGet("/orders/{id:long}/status", async (long id, CancellationToken ct) =>
    await store.FindAsync(id, ct) is { } order ? Results.Ok(new { order.Id, order.Status }) : Results.NotFound(new { error = $"no order {id}" }));
app.MapGet("/orders/{id:long}", async (long id, IHttpClientFactory http, HttpContext context) =>
{
    if (await store.FindAsync(id, context.RequestAborted) is not { } order)
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
    return Results.Ok(new { version = Version, instance, orderId = id, order.Quantity, order.Status, item = item["item"], invoice, pricing, reviews = reviews!["reviews"] });
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
        using var response = await http.CreateClient("flags").PostAsJsonAsync($"ofrep/v1/evaluate/flags/{flag}", new JsonObject { ["context"] = context });
        var answer = await response.Content.ReadFromJsonAsync<JsonObject>();
        return response.IsSuccessStatusCode && answer?["value"] is JsonValue value && value.TryGetValue<bool>(out var on) && on;
    }
    catch (HttpRequestException)
    {
        return false;
    }
}
app.Run();

internal sealed record NewOrder(int ItemId, int Quantity);
