// Catalog: the items the shop sells. Reached by other services only through its stable endpoint.
const string Version = "catalog 1.0.0";
var instance = Environment.GetEnvironmentVariable("FLOTILLA_INSTANCE") ?? "local";
var items = new Dictionary<int, Item>
{
    [1] = new(1, "Espresso cup", 7.50m),
    [2] = new(2, "Milk jug", 12.00m),
    [3] = new(3, "Coffee grinder", 89.90m),
};

var app = WebApplication.CreateBuilder(args).Build();
app.MapGet("/healthz", () => "ok");
app.MapGet("/ready", () => "ready");
app.MapGet("/", () => new { service = "catalog", version = Version, instance });
app.MapGet("/items", () => new { version = Version, instance, items = items.Values });
app.MapGet("/items/{id:int}", (int id) => items.TryGetValue(id, out var item)
    ? Results.Ok(new { version = Version, instance, item })
    : Results.NotFound(new { error = $"no item {id}" }));
app.Run();

record Item(int Id, string Name, decimal Price);
