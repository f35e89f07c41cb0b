using Flotilla.Router;
using Flotilla.Store;

namespace Flotilla.Hosting;

/// <summary>
/// Re-applying an earlier revision: its resolved desired state (artifacts by digest, commands,
/// environments, endpoint ports, flags) becomes the desired state again as a new revision,
/// with nothing rebuilt or re-read, as infrastructure as code promises ("any past revision can be
/// re-applied"). Its audit record says which revision it restores.
/// </summary>
public sealed partial class ControlPlane
{
    public async Task<RevisionRecord> ReapplyAsync(long number, string actor, CancellationToken cancellationToken = default)
    {
        await _changing.WaitAsync(cancellationToken);
        try
        {
            var earlier = _store.Revision(number) ?? throw new ControlPlaneException($"no revision {number}; the latest is {_store.LatestRevisionNumber}", ControlPlaneError.NotFound);
            var state = DesiredState.FromJson(earlier.DesiredJson);
            foreach (var service in state.Services)
            {
                if (service.Env.TryGetValue("ARTIFACT", out var artifact) && !Directory.Exists(artifact))
                {
                    throw new ControlPlaneException($"the artifact of '{service.Name}' in revision {number} ({artifact}) is no longer stored; apply that revision's spec again to rebuild it", ControlPlaneError.Conflict);
                }
            }
            RouterRefusal.ThrowIfRefused(DataPlane, state, $"revision {number} cannot be re-applied");
            var latest = _store.LatestRevision()!;
            if (latest.DesiredJson == earlier.DesiredJson)
            {
                throw new ControlPlaneException($"revision {latest.Number} already runs what revision {number} ran", ControlPlaneError.Conflict);
            }
            // Held until the revision is recorded and made the desired state: see TenantAdmission.
            using var admitted = Admit(state, OverridesAfterApply());
            await RestoreEndpointsAsync(state, cancellationToken);
            var summary = $"re-apply revision {number}: {state.Summarize(State)}";
            var record = _store.AddRevision(latest.Number, actor, earlier.Environment, earlier.SpecFile, earlier.SpecYaml, earlier.GitCommit, summary, earlier.DesiredJson, _time.GetUtcNow());
            await MakeDesiredAsync(state, record, actor, cancellationToken);
            Events.Record(state.System, $"revision {record.Number} by {actor}: {summary}");
            return record;
        }
        finally
        {
            _changing.Release();
        }
    }

    /// <summary>Opens the endpoints a restored state names, on its ports, and closes the others.</summary>
    private async Task RestoreEndpointsAsync(DesiredState state, CancellationToken cancellationToken)
    {
        try
        {
            foreach (var (name, port) in state.Endpoints)
            {
                if (_router.Endpoints.TryGetValue(name, out var open) && open == port)
                {
                    continue;
                }
                if (_router.Endpoints.ContainsKey(name))
                {
                    await _router.RemoveServiceAsync(name);
                }
                await _router.AddServiceAsync(name, port, cancellationToken);
            }
            foreach (var gone in _router.Endpoints.Keys.Where(name => !state.Endpoints.ContainsKey(name)).ToList())
            {
                await _router.RemoveServiceAsync(gone);
            }
            if (state.Flags is { } flags)
            {
                await _flagService.ServeAgainAsync(flags, cancellationToken);
            }
        }
        catch (EndpointBindException e)
        {
            throw new ControlPlaneException(e.Message, ControlPlaneError.Conflict);
        }
    }
}
