#!/usr/bin/env bash
# Issue 19's cold start: a .NET minimal-API function (WebApplication.CreateSlimBuilder, GET / -> "ok")
# published three ways by Flotilla's own `build:` (the project's properties choose: framework-dependent
# JIT, PublishReadyToRun, PublishAot), REPS forced cold starts each (the function at zero, one request,
# timed from sending it to the first byte: lambda-perf's method), a warm call after each, and
# alternating with them the same published binary started by hand and polled until it answers (program
# start to first answered request): the peer, so the ratio is what Flotilla adds. The cold start is
# split into the control plane's reaction (request sent -> process spawned), the instance's start to
# its first passed probe, and the rest (routing table, release of the held request, first answer).
#   bench/cold-start.sh [REPS=20] [VARIANTS=jit,r2r,aot]
# Native AOT needs clang and zlib1g-dev (installed here with apt-get when missing).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
REPS="${1:-20}"; VARIANTS="${2:-jit,r2r,aot}"
if [[ ",$VARIANTS," == *",aot,"* ]] && { ! command -v clang >/dev/null || ! dpkg -s zlib1g-dev >/dev/null 2>&1; }; then
  apt-get install -y clang zlib1g-dev >/dev/null
fi
dotnet build -c Release --nologo -v q "$ROOT/bench/Flotilla.Bench" >/dev/null
echo "# $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
dotnet "$ROOT/bench/Flotilla.Bench/bin/Release/net10.0/Flotilla.Bench.dll" cold-start --reps "$REPS" --variants "$VARIANTS"
