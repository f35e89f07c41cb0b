namespace Flotilla.Tenancy;

/// <summary>What a tenant's instances take (or would take): instances of services, CPU and memory they declare, functions' maximum instances.</summary>
public sealed record QuotaUse(int Instances, double Cpu, long MemoryBytes, int FunctionInstances)
{
    public static QuotaUse Zero { get; } = new(0, 0, 0, 0);

    public static QuotaUse operator +(QuotaUse a, QuotaUse b) =>
        new(a.Instances + b.Instances, a.Cpu + b.Cpu, a.MemoryBytes + b.MemoryBytes, a.FunctionInstances + b.FunctionInstances);

    public static QuotaUse operator -(QuotaUse a, QuotaUse b) =>
        new(a.Instances - b.Instances, a.Cpu - b.Cpu, a.MemoryBytes - b.MemoryBytes, a.FunctionInstances - b.FunctionInstances);
}
