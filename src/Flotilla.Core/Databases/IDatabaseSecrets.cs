namespace Flotilla.Databases;

/// <summary>What provisioning needs of the environment's secret store (the host implements it): generated credentials go in, and only names come out toward instances.</summary>
public interface IDatabaseSecrets
{
    string? Get(string name);

    void Set(string name, string value);
}
