#!/usr/bin/env bash
# Runs one fuzz target with the options used for the figures in docs/fuzzing.md.
#   fuzz/run.sh TARGET SECONDS [extra libFuzzer flags...]
# Set LEVERAGE_FUZZ_SKIP_KNOWN=1 to step over the findings already reported.
# Builds with `cargo +nightly fuzz build` first unless FUZZ_NO_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")"
target=$1
seconds=$2
shift 2
if [[ "${FUZZ_NO_BUILD:-}" != 1 ]]; then
  (cd .. && cargo +nightly fuzz build "$target")
fi
bin=${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-gnu/release/$target
mkdir -p "corpus/$target" "artifacts/$target" logs
seeds=()
[[ -d "seeds/$target" ]] && seeds+=("seeds/$target")
[[ -d "regressions/$target" ]] && seeds+=("regressions/$target")
dict=()
[[ "$target" == filter_and_page_token ]] && dict=(-dict=dict/filters.dict)
[[ "$target" == dates_and_codes ]] && dict=(-dict=dict/dates.dict)
log=logs/$target-$(date +%Y%m%dT%H%M%S).log
echo "logging to fuzz/$log"
"$bin" "corpus/$target" "${seeds[@]}" "${dict[@]}" \
  -artifact_prefix="artifacts/$target/" -max_total_time="$seconds" -print_final_stats=1 \
  -rss_limit_mb=4096 -timeout=10 "$@" 2>&1 | tee "$log" | grep -E "^(Done|==|SUMMARY|stat::number_of_executed_units|artifact_prefix|Test unit written|#[0-9]+ *(DONE|INITED))|panicked" || true
