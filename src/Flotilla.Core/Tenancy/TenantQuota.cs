using System.Text.Json;

namespace Flotilla.Tenancy;

/// <summary>
/// What a tenant may use at most; a null limit is no limit. CPU and memory are the sums of what the
/// tenant's instances declare (<c>resources:</c>), functions' instances the sum of their scale maximums.
/// </summary>
public sealed record TenantQuota(int? Instances = null, double? Cpu = null, long? MemoryBytes = null, int? FunctionInstances = null)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static TenantQuota Parse(string json) => JsonSerializer.Deserialize<TenantQuota>(json, Json) ?? new TenantQuota();

    public string ToJson() => JsonSerializer.Serialize(this, Json);
}
