#!/usr/bin/env bash
# A short, bounded run of every fuzz target, for CI: builds them, runs each for FUZZ_SECONDS
# (two at a time, one per core) from the committed corpus, and fails if any crashes. Ends with
# `fuzz: N passed, M failed`.
#
#   bash protocol/fuzz/ci.sh                 # every target, 20 s each
#   FUZZ_SECONDS=300 bash protocol/fuzz/ci.sh issue room
#
# Only a stable toolchain is needed: cargo-fuzz passes rustc unstable flags (-Z…), which
# RUSTC_BOOTSTRAP=1 lets stable accept. No sanitizer: every crate of ours forbids unsafe code,
# and without one the build is shorter and the run about twice as fast. A crash stays in
# protocol/fuzz/artifacts/<target>/ (README.md says how to keep it in regressions/).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

seconds="${FUZZ_SECONDS:-20}"
rss_mb="${FUZZ_RSS_MB:-2048}"
parallel="${FUZZ_JOBS:-2}"
# A fixed seed makes a run repeat the last one's exploration (as far as the time allows), so CI
# fails on what a change broke, not on what chance found first; unset, libFuzzer picks one.
seed_flag=()
[ -n "${FUZZ_SEED:-}" ] && seed_flag=(-seed="$FUZZ_SEED")
target_dir="${FUZZ_TARGET_DIR:-$here/target}"
export RUSTC_BOOTSTRAP=1
export CARGO_TERM_COLOR=never
# libFuzzer's C++ is most of a cold build; nobody steps through it, so no debug info.
export CXXFLAGS="${CXXFLAGS:--g0}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz"
    cargo install cargo-fuzz --locked --version "${CARGO_FUZZ_VERSION:-0.13.2}"
fi

fuzz() {
    cargo fuzz "$1" --fuzz-dir . --target-dir "$target_dir" --sanitizer none "${@:2}"
}

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list --fuzz-dir .)
fi
if [ "${#targets[@]}" -eq 0 ]; then
    echo "fuzz: no fuzz targets found"
    exit 1
fi

logs="$target_dir/fuzz-logs"
mkdir -p "$logs"
start=$SECONDS
only=()
[ "${#targets[@]}" -eq 1 ] && only=("${targets[0]}")
if ! fuzz build "${only[@]}" >"$logs/build.log" 2>&1; then
    tail -n 60 "$logs/build.log"
    echo "fuzz: the build failed"
    echo "fuzz: 0 passed, ${#targets[@]} failed"
    exit 1
fi
echo "fuzz: built ${#targets[@]} targets in $((SECONDS - start)) s"

# New inputs go to a scratch corpus listed first, so a run never changes the committed one;
# inputs that once crashed (regressions/) are replayed first thing, like the corpus.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

run() {
    local t="$1"
    local dirs=("$scratch/$t" "corpus/$t")
    mkdir -p "${dirs[@]}"
    [ -d "regressions/$t" ] && dirs+=("regressions/$t")
    fuzz run "$t" "${dirs[@]}" -- \
        -max_total_time="$seconds" -rss_limit_mb="$rss_mb" -timeout=10 \
        -print_final_stats=1 "${seed_flag[@]}" >"$logs/$t.log" 2>&1
}

declare -A pids
passed=0
failed=0
failures=()
finish() {
    local t="$1"
    if wait "${pids[$t]}"; then
        passed=$((passed + 1))
        local runs
        runs="$(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$logs/$t.log" | grep -o '[0-9]*$' || echo '?')"
        echo "fuzz: $t passed ($runs runs)"
    else
        failed=$((failed + 1))
        failures+=("$t")
        echo "fuzz: $t FAILED; its log ($logs/$t.log) ends:"
        # From the panic (or libFuzzer's own report) on, without backtrace frames.
        awk '/panicked at|ERROR: libFuzzer|^==[0-9]+==/ { on = 1 } on' "$logs/$t.log" |
            grep -v '^ *[0-9]*: \|^ *at \|^Stack backtrace:' | head -n 60 | sed 's/^/    /'
    fi
}

running=()
for t in "${targets[@]}"; do
    run "$t" &
    pids[$t]=$!
    running+=("$t")
    if [ "${#running[@]}" -ge "$parallel" ]; then
        finish "${running[0]}"
        running=("${running[@]:1}")
    fi
done
for t in "${running[@]}"; do
    finish "$t"
done

if [ "$failed" -gt 0 ]; then
    echo "fuzz: crashing inputs are in $here/artifacts/ (${failures[*]})"
fi
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
