#!/usr/bin/env bash
# Runs every test, then the integration tests a second time against a local Redis Cluster. On a fresh
# machine it first installs what the tests need (redis-server, redis-cli), then prints one closing line
# counting both runs: "tests: N passed, N failed[, N skipped]". Exit code: the first failing dotnet test's.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ -z "${MicroMoments__Redis__Configuration:-}" ] && ! command -v redis-server >/dev/null 2>&1; then
  echo "redis-server not found: installing it with apt-get (integration tests run a real Redis)"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq || exit 1
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server >/dev/null || exit 1
fi

# The console's browser tests drive Debian's Chromium (never a downloaded one).
if [ -z "${MICROMOMENTS_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  echo "chromium not found: installing it with apt-get (the console's browser tests run it)"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq || exit 1
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null || exit 1
fi

results="$(mktemp -d)"
export MICROMOMENTS_TEST_ARTIFACTS="$results/artifacts" # the console's screenshots
# A hung test ends its run (named in the output) instead of the CI job.
hang=(--blame-hang-timeout 10min --blame-hang-dump-type none)
dotnet test MicroMoments.Stream.sln -c Release "${hang[@]}" \
  --logger "trx" --logger "console;verbosity=normal" --results-directory "$results" 2>&1 \
  | grep -vE '^\s*$|^\s+Passed [A-Za-z]'
status=${PIPESTATUS[0]}

# The integration suite again, every Redis-backed test on a local 3-master Redis Cluster (its own trx file). Tests
# marked SecondPass=SingleRedisOnly (a process, a file or a page is their subject, or they start their own cluster
# either way) run once, in the first pass.
if [ -z "${MicroMoments__Redis__Configuration:-}" ]; then
  echo "integration tests again on Redis Cluster (MICROMOMENTS_TEST_REDIS=cluster)"
  MICROMOMENTS_TEST_REDIS=cluster dotnet test tests/MicroMoments.Stream.IntegrationTests -c Release --no-build "${hang[@]}" \
    --filter "SecondPass!=SingleRedisOnly" \
    --logger "trx;LogFileName=integration-redis-cluster.trx" --logger "console;verbosity=normal" --results-directory "$results" 2>&1 \
    | grep -vE '^\s*$|^\s+Passed [A-Za-z]'
  cluster_status=${PIPESTATUS[0]}
  [ "$status" -eq 0 ] && status=$cluster_status
fi

# CI shows only the end of the output: name each failed test and the first lines of its message just above the count.
failures() {
  python3 - "$results" <<'PY' 2>/dev/null || grep -ho 'testName="[^"]*" [^>]*outcome="Failed"' "$results"/*.trx
import glob, sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
for f in sorted(glob.glob(sys.argv[1] + "/*.trx")):
    for r in ET.parse(f).getroot().iterfind(".//t:UnitTestResult", ns):
        if r.get("outcome") == "Failed":
            msg = r.findtext(".//t:Message", default="", namespaces=ns).strip().splitlines()
            print(f"FAILED {r.get('testName')} ({f.rsplit('/', 1)[-1]}, {r.get('duration')})")
            for line in msg[:6]:
                print("    " + line[:300])
PY
}
sum() { grep -ho "<Counters [^>]*" "$results"/*.trx 2>/dev/null | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' | awk '{ s += $1 } END { print s + 0 }'; }
passed=$(sum passed); failed=$(sum failed); skipped=$(sum notExecuted)
passed=${passed:-0}; failed=${failed:-0}; skipped=${skipped:-0}
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; echo "dotnet test failed before running every test (exit $status)"; fi
[ "$failed" -gt 0 ] && failures
line="tests: $passed passed, $failed failed"
[ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
echo "$line"
exit "$status"
