#!/usr/bin/env bash
# Fuzzes the .env editor and the setup.conf reader with libFuzzer for a given
# time per target, against the properties in xtask/tests/suite/faults/properties.rs.
#
#   fuzz/run.sh                 # 600 s per target, one after the other
#   fuzz/run.sh 60 env_file     # one target, 60 s
#   FUZZ_PARALLEL=1 fuzz/run.sh # both targets at once (one core each)
#
# Needs a nightly toolchain and cargo-fuzz (cargo +nightly install cargo-fuzz).
# Runs at nice 10. The corpus grows in fuzz/corpus/ (ignored by git), seeded
# from the repository's own files and the regression inputs. An input that
# breaks a property is copied into xtask/tests/suite/faults/regressions/<kind>/,
# where the test suite replays it on every run; the script then exits 1.
# Prints, per target, the time fuzzed and the number of executions.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-600}"
shift || true
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(env_file setup_conf)

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "error: cargo-fuzz on a nightly toolchain is needed: rustup toolchain install nightly && cargo +nightly install cargo-fuzz" >&2
  exit 2
fi

target_dir="target/fuzz"
kind_of() { case "$1" in env_file) echo env ;; setup_conf) echo conf ;; esac; }

# The code under test is safe Rust: no sanitizer, many more executions a second.
fuzz_flags=(--fuzz-dir fuzz --target-dir "${target_dir}" --sanitizer none)
nice -n 10 cargo +nightly fuzz build "${fuzz_flags[@]}"

seed() {
  local target="$1" corpus="fuzz/corpus/$1"
  mkdir -p "${corpus}"
  cp -f "xtask/tests/suite/faults/regressions/$(kind_of "${target}")"/* "${corpus}/" 2>/dev/null || true
  case "${target}" in
    env_file) cp -f docker/.env.example "${corpus}/env-example" ;;
    setup_conf) cp -f setup.conf "${corpus}/setup-conf" ;;
  esac
}

run_one() {
  local target="$1" log="target/fuzz/${1}.log"
  local artifacts="fuzz/artifacts/${target}/"
  rm -rf "${artifacts}"
  mkdir -p "${artifacts}"
  seed "${target}"
  local start=${SECONDS}
  set +e
  nice -n 10 cargo +nightly fuzz run "${fuzz_flags[@]}" "${target}" \
    "fuzz/corpus/${target}" -- -max_total_time="${seconds}" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="${artifacts}" -print_final_stats=1 >"${log}" 2>&1
  local rc=$?
  set -e
  if grep -q '^error: could not compile' "${log}"; then
    echo "error: ${target} did not build; see ${log}" >&2
    return 2
  fi
  local runs
  runs=$(grep -E '^stat::number_of_executed_units' "${log}" | awk '{print $2}' | tail -1)
  echo "${target}: $((SECONDS - start)) s, ${runs:-unknown} executions, exit ${rc} (log: ${log})"
  if [ "${rc}" -ne 0 ]; then
    local kind
    kind=$(kind_of "${target}")
    for crash in "${artifacts}"*; do
      [ -f "${crash}" ] || continue
      cp "${crash}" "xtask/tests/suite/faults/regressions/${kind}/$(basename "${crash}")"
      echo "  kept $(basename "${crash}") in xtask/tests/suite/faults/regressions/${kind}/"
    done
    grep -m1 -A3 -E 'panicked at|ERROR: libFuzzer' "${log}" | sed 's/^/  /' || true
    return 1
  fi
}

status=0
if [ "${FUZZ_PARALLEL:-0}" = 1 ]; then
  pids=()
  for target in "${targets[@]}"; do
    run_one "${target}" &
    pids+=("$!")
  done
  for pid in "${pids[@]}"; do wait "${pid}" || status=1; done
else
  for target in "${targets[@]}"; do run_one "${target}" || status=1; done
fi
exit "${status}"
