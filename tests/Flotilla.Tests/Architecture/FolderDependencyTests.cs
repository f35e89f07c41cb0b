using System.Reflection;
using System.Text;
using Flotilla.Model;
using NetArchTest.Rules;

namespace Flotilla.Tests.Architecture;

/// <summary>
/// The top-level folders of Flotilla.Core (one namespace each: Flotilla.Model, Flotilla.Router, ...) depend on
/// each other without cycles, so each can be read, tested and replaced from the bottom up.
/// </summary>
public sealed class FolderDependencyTests
{
    /// <summary>Cycles tolerated for now, each as an unordered pair of top-level namespaces: none.</summary>
    private static readonly (string, string)[] AllowedCycles = [];

    private static readonly Assembly Core = typeof(SystemSpec).Assembly;

    [Fact]
    public void TopLevelNamespaces_OfCore_DependOnEachOther_WithoutCycles()
    {
        var namespaces = TopLevelNamespaces();
        Assert.Contains("Flotilla.Router", namespaces);

        var edges = DependencyEdges(namespaces);
        var offending = new StringBuilder();
        foreach (var component in StronglyConnected(namespaces, edges))
        {
            if (component.Count < 2 || IsAllowed(component))
            {
                continue;
            }

            offending.AppendLine($"cycle between {string.Join(", ", component.Order(StringComparer.Ordinal))}:");
            foreach (var ((from, to), types) in edges.Where(e => component.Contains(e.Key.From) && component.Contains(e.Key.To)))
            {
                offending.AppendLine($"  {from} -> {to} through {string.Join(", ", types)}");
            }
        }

        Assert.True(offending.Length == 0,
            "Folders of Flotilla.Core depend on each other in a cycle; move the shared type to a lower folder "
            + "(or let the lower one declare an interface the higher one implements):\n" + offending);
    }

    private static bool IsAllowed(IReadOnlySet<string> component) =>
        component.Count == 2 && AllowedCycles.Any(p => component.Contains(p.Item1) && component.Contains(p.Item2));

    private static List<string> TopLevelNamespaces() =>
        [.. Core.GetTypes()
            .Select(t => t.Namespace)
            .OfType<string>()
            .Where(n => n.StartsWith("Flotilla.", StringComparison.Ordinal))
            .Select(n => string.Join('.', n.Split('.').Take(2)))
            .Distinct()
            .Order(StringComparer.Ordinal)];

    /// <summary>Edge (from, to) with the types in <c>from</c> that use something in <c>to</c>.</summary>
    private static Dictionary<(string From, string To), List<string>> DependencyEdges(List<string> namespaces)
    {
        var edges = new Dictionary<(string, string), List<string>>();
        foreach (var from in namespaces)
        {
            foreach (var to in namespaces.Where(n => n != from))
            {
                var types = Types.InAssembly(Core)
                    .That().ResideInNamespaceMatching($"^{Regex(from)}(\\.|$)")
                    .And().HaveDependencyOn(to)
                    .GetTypes()
                    .Select(t => t.FullName ?? t.Name)
                    .Order(StringComparer.Ordinal)
                    .ToList();
                if (types.Count > 0)
                {
                    edges[(from, to)] = types;
                }
            }
        }

        return edges;
    }

    private static string Regex(string name) => System.Text.RegularExpressions.Regex.Escape(name);

    /// <summary>Tarjan's strongly connected components: every cycle lies inside one component of two or more.</summary>
    private static List<HashSet<string>> StronglyConnected(List<string> nodes, Dictionary<(string From, string To), List<string>> edges)
    {
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var components = new List<HashSet<string>>();

        void Visit(string node)
        {
            index[node] = low[node] = index.Count;
            stack.Push(node);
            foreach (var next in edges.Keys.Where(e => e.From == node).Select(e => e.To))
            {
                if (!index.ContainsKey(next))
                {
                    Visit(next);
                    low[node] = Math.Min(low[node], low[next]);
                }
                else if (stack.Contains(next))
                {
                    low[node] = Math.Min(low[node], index[next]);
                }
            }

            if (low[node] == index[node])
            {
                var component = new HashSet<string>();
                string member;
                do
                {
                    member = stack.Pop();
                    component.Add(member);
                }
                while (member != node);
                components.Add(component);
            }
        }

        foreach (var node in nodes.Where(n => !index.ContainsKey(n)))
        {
            Visit(node);
        }

        return components;
    }
}
