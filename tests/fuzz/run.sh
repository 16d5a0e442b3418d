#!/usr/bin/env bash
# Bounded fuzzing of the three targets (events, rules, stored user state) with SharpFuzz and afl++ (Debian package afl++).
#   tests/fuzz/run.sh [seconds per target, at most 60; default 60] [target ...; default: events rules state]
# Builds tests/MicroMoments.Stream.Fuzz, instruments MicroMoments.Stream.Core and YamlDotNet with the sharpfuzz tool
# (.config/dotnet-tools.json), seeds afl-fuzz with tests/MicroMoments.Stream.Fuzz/corpus/<target>/ and prints, per
# target, the executions, crashes and hangs, then each crash replayed with its exception. Findings stay in
# $FUZZ_OUT (default /tmp/mm-fuzz); copy a real crash into the corpus as a regression seed.
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${1:-60}
shift || true
targets=("${@:-events rules state}")
read -r -a targets <<< "${targets[*]}"
if (( seconds > 60 )); then
  echo "fuzz: at most 60 s per target" >&2
  exit 2
fi
command -v afl-fuzz >/dev/null || { echo "fuzz: afl-fuzz not found: apt-get install afl++" >&2; exit 2; }

out=${FUZZ_OUT:-/tmp/mm-fuzz}
rm -rf "$out"
mkdir -p "$out"
dotnet tool restore >/dev/null
# bin/ is instrumented for afl-fuzz; plain/ replays the crashes (instrumented code needs afl's shared memory).
dotnet publish tests/MicroMoments.Stream.Fuzz -c Release -o "$out/plain" -nologo -v quiet >/dev/null
cp -r "$out/plain" "$out/bin"
for dll in MicroMoments.Stream.Core.dll YamlDotNet.dll; do
  dotnet tool run sharpfuzz "$out/bin/$dll" >/dev/null
done

# The dotnet host carries no afl instrumentation of its own (SharpFuzz reports coverage through afl's shared memory),
# crashes need no core_pattern change when AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES is set, and the machine is shared.
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
# A seed that already crashes (a known open bug) must not stop the run.
export AFL_SKIP_CRASHES=1 AFL_IGNORE_SEED_PROBLEMS=1
# An input over the (auto-scaled, few hundred ms) timeout is run again with 3 s before it is saved as a hang.
export AFL_HANG_TMOUT=3000

status=0
for target in "${targets[@]}"; do
  findings="$out/findings-$target"
  # -t 1000: a fixed 1 s per input. afl's auto-scaled timeout (60-200 ms from the seeds) is shorter than the JIT of a
  # new code path on a loaded machine; SharpFuzz then kills its child process and reports the input as a crash
  # (sig:02) that replays fine. Seeds that time out are skipped (AFL_IGNORE_SEED_PROBLEMS).
  if ! timeout $((seconds + 120)) afl-fuzz -i "tests/MicroMoments.Stream.Fuzz/corpus/$target" -o "$findings" \
      -V "$seconds" -t 1000 -m none -- "$out/bin/MicroMoments.Stream.Fuzz" "$target" > "$out/afl-$target.log" 2>&1; then
    echo "fuzz $target: afl-fuzz failed, see $out/afl-$target.log:" >&2
    tail -20 "$out/afl-$target.log" >&2
    status=1
    continue
  fi
  stats="$findings/default/fuzzer_stats"
  stat() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
  echo "fuzz $target: $(stat execs_done) executions in $(stat run_time) s ($(stat execs_per_sec)/s), corpus $(stat corpus_count), crashes $(stat saved_crashes), hangs $(stat saved_hangs)"
  shopt -s nullglob
  # afl scales its hang timeout to the seeds (a few hundred ms), so on a loaded machine a "hang" may be noise: the replay shows its time.
  for crash in "$findings"/default/crashes/id:* "$findings"/default/hangs/id:*; do
    echo "  $crash ($(wc -c < "$crash") bytes):"
    start=$(date +%s%N)
    replay=$(timeout 30 "$out/plain/MicroMoments.Stream.Fuzz" "$target" --replay "$crash" 2>&1 || true)
    if grep -q '^ok ' <<< "$replay"; then
      echo "    not reproduced: replays without an exception (a child process SharpFuzz lost, e.g. killed at afl's timeout)"
    fi
    { grep -m1 -E '^FAIL|^Stack overflow' <<< "$replay" | sed "s|^FAIL $crash: ||" | cut -c1-240
      grep -m1 -E '^ +at (MicroMoments|YamlDotNet)' <<< "$replay" | sed 's/ in .*//' | cut -c1-240; } | sed 's/^ */    /' || true
    echo "    replayed in $(( ($(date +%s%N) - start) / 1000000 )) ms"
  done
done
exit $status
