#!/usr/bin/env bash
# Run a test selection N times in a row beside K processes that each keep a CPU busy, and count the
# rounds that failed: timing-sensitive tests must pass on a loaded machine, not only on an idle one.
#
#   scripts/stress-tests.sh [-n ROUNDS] [-k BURNERS] [-l LOG_DIR] [--] [PYTEST SELECTION AND OPTIONS...]
#   scripts/stress-tests.sh -n 10 -k 2 -- tests/chaos tests/runner/test_processes.py
#
# Defaults: 10 rounds, 2 burners, the chaos and worker-process tests. Each round's pytest output goes to
# LOG_DIR/round-N.log (default: a new temporary directory); a summary line per round is printed. The exit
# status is 0 only if every round passed. The burners are stopped however the script ends.
set -euo pipefail

rounds=10
burners=2
log_dir=""
while getopts "n:k:l:h" opt; do
    case "$opt" in
        n) rounds=$OPTARG ;;
        k) burners=$OPTARG ;;
        l) log_dir=$OPTARG ;;
        h) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
if [[ $# -eq 0 ]]; then
    set -- tests/chaos tests/runner/test_processes.py
fi
[[ "$rounds" =~ ^[0-9]+$ && "$burners" =~ ^[0-9]+$ ]] || { echo "-n and -k take whole numbers" >&2; exit 2; }

cd "$(dirname "$0")/.."
pytest=.venv/bin/pytest
[[ -x $pytest ]] || { echo "no $pytest: run 'make install' first" >&2; exit 2; }
log_dir=${log_dir:-$(mktemp -d "${TMPDIR:-/tmp}/jobdeck-stress.XXXXXX")}
mkdir -p "$log_dir"

burner_pids=()
stop_burners() {
    local pid
    for pid in "${burner_pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${burner_pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    burner_pids=()
}
trap stop_burners EXIT
trap 'exit 130' INT TERM

for ((i = 0; i < burners; i++)); do
    python3 -c 'while True: pass' &
    burner_pids+=("$!")
done

echo "$(date -u +%FT%TZ) $rounds round(s) of: pytest $* -- beside $burners CPU burner(s) (pids ${burner_pids[*]:-none})"
echo "logs: $log_dir"
failures=0
for ((round = 1; round <= rounds; round++)); do
    started=$SECONDS
    log="$log_dir/round-$round.log"
    if "$pytest" -p no:cacheprovider -q "$@" >"$log" 2>&1; then
        result=passed
    else
        result=FAILED
        failures=$((failures + 1))
    fi
    summary=$({ grep -E '^(=+ )?[0-9]+ (passed|failed|error)' "$log" || true; } | tail -n 1 | tr -d '=' | sed 's/^ *//;s/ *$//')
    printf '%s round %d/%d %s in %ds: %s (load %s)\n' "$(date -u +%T)" "$round" "$rounds" "$result" \
        $((SECONDS - started)) "${summary:-no summary}" "$(cut -d' ' -f1-3 /proc/loadavg)"
    if [[ $result == FAILED ]]; then
        grep -E '^(FAILED|ERROR) ' "$log" | sed 's/^/    /' || true
    fi
done
echo "$(date -u +%FT%TZ) $((rounds - failures)) of $rounds round(s) passed, $failures failed"
[[ $failures -eq 0 ]]
