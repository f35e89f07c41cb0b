using System.Runtime.CompilerServices;

namespace Flotilla.Flags.Logic;

/// <summary>Room for a flagd operator's evaluated arguments on the stack (sem_ver has three), so evaluating one allocates nothing.</summary>
[InlineArray(3)]
internal struct FlagdArguments
{
    private object? _first;
}
