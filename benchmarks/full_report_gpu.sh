#!/usr/bin/env bash
# The whole report through Snakemake on one GPU machine (the device tool's, or any
# workstation), timed, with what it produced collected into one folder:
#
#   bash benchmarks/full_report_gpu.sh [--scale full] [--mirror DIR] [--parts DIR]
#        [--wheels DIR] [--jobs-per-gpu N] [--work DIR] [--out DIR]
#
# 1. --wheels DIR: installs the wheels there (pip --no-index --target, nothing fetched) for
#    a machine that has PyTorch but not Snakemake and friends; `pip download` them on a
#    machine with the registry (see docs/benchmarks.md).
# 2. --parts DIR: files NAME.tar.part-* are joined and unpacked into the mirror folder
#    (--mirror, default WORK/mirror). CIFAR-10's 176 MB exceed what one device call
#    carries (64 MiB), so they travel as pieces over successive calls, which the machine
#    keeps while it stays warm: `tar cf - -C ../shared/datasets cifar10 SHA256SUMS |
#    split -b 60M - DIR/cifar10.tar.part-`. The workflow then checks every file against
#    the mirror's SHA256SUMS, as always.
# 3. Runs `snakemake report --cores $(nproc) --resources gpu=N --set-resources train:gpu=1
#    --config scale=SCALE data_mirror=MIRROR jobs_per_gpu=N` in WORK (N jobs share the GPU).
# 4. Writes to OUT (default WORK/out): wall.txt (seconds, per-study training seconds),
#    summary.csv, report.md, figures.tar and the end of snakemake.log: at most 8 files, as
#    the device tool brings back.
# At smoke scale (synthetic data, no mirror needed) it runs on any CPU: the tests do that.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
scale=full mirror="" parts="" wheels="" jobs_per_gpu=4 work="" out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) scale=$2 ;;
    --mirror) mirror=$2 ;;
    --parts) parts=$2 ;;
    --wheels) wheels=$2 ;;
    --jobs-per-gpu) jobs_per_gpu=$2 ;;
    --work) work=$2 ;;
    --out) out=$2 ;;
    *) echo "unknown option $1 (see the top of $0)" >&2; exit 2 ;;
  esac
  shift 2
done
work=${work:-$(mktemp -d /tmp/cnnlab-report-XXXX)}
out=${out:-$work/out}
mkdir -p "$work" "$out"
python=${PYTHON:-python3}

if [ -n "$wheels" ]; then
  "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/cnnlab-site "$wheels"/*.whl
  export PYTHONPATH=/tmp/cnnlab-site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH="$here/src${PYTHONPATH:+:$PYTHONPATH}"

if [ -n "$parts" ]; then
  mirror=${mirror:-$work/mirror}
  mkdir -p "$mirror"
  for first in "$parts"/*.tar.part-aa; do
    [ -e "$first" ] || continue
    cat "${first%aa}"* | tar xf - -C "$mirror"
    echo "joined $(ls "${first%aa}"* | wc -l) pieces of $(basename "${first%.part-aa}") into $mirror"
  done
fi

config=(scale="$scale" jobs_per_gpu="$jobs_per_gpu")
[ -n "$mirror" ] && config+=(data_mirror="$(cd "$mirror" && pwd)")
gpus=$(command -v nvidia-smi >/dev/null && nvidia-smi -L | grep -c '^GPU ' || echo 0)
slots=$(( (gpus > 0 ? gpus : 1) * jobs_per_gpu ))
echo "scale $scale, $gpus GPU(s), $jobs_per_gpu training jobs per GPU, $(nproc) cores, in $work"
start=$(date +%s.%N)
status=0
# The target first: --resources and --set-resources take every word after them.
(cd "$work" && "$python" -m snakemake -s "$here/Snakefile" report --cores "$(nproc)" \
   --resources gpu="$slots" --set-resources train:gpu=1 --config "${config[@]}") \
  > "$work/snakemake.log" 2>&1 || status=$?
wall=$("$python" -c "import time; print(f'{time.time() - $start:.0f}')")
tail -c 200000 "$work/snakemake.log" > "$out/snakemake-tail.log"
if [ "$status" -ne 0 ]; then
  echo "snakemake failed after $wall s (exit $status); see $out/snakemake-tail.log" >&2
  tail -30 "$work/snakemake.log" >&2
  exit "$status"
fi
cp "$work/results/summary.csv" "$work/results/report/report.md" "$out/"
tar cf "$out/figures.tar" -C "$work/results/report" figures
{
  echo "whole report, scale $scale: $wall s wall on $gpus GPU(s), $jobs_per_gpu jobs per GPU"
  "$python" - "$work/results/summary.csv" <<'EOF'
import sys
import pandas as pd
summary = pd.read_csv(sys.argv[1])
trained = summary[summary["trained_as"].fillna("") == ""]
for study, runs in trained.groupby("study", sort=False):
    print(f"{study}: {len(runs)} runs, {runs['train_seconds'].sum():.0f} training seconds, "
          f"devices {', '.join(sorted(set(runs['device_name'])))}")
EOF
} | tee "$out/wall.txt"
