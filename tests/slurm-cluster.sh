#!/usr/bin/env bash
# `chainsim slurm` against a real Slurm scheduler: starts a one-node cluster on this machine
# (munge, slurmctld and slurmd from Debian's packages, installed when missing; configuration,
# key, socket, state and logs under one temporary folder), then
#   1. submits a small study with `chainsim slurm --submit`, waits for its merge job and checks
#      that the merged folder is byte-identical to a run of the same study on one machine;
#   2. submits it again into a new folder, cancels one array task mid-slice, checks that the merge
#      job was cancelled and `chainsim status` reports the missing runs, submits again, and checks
#      that the result is again identical and that the runs finished before the kill were not
#      recomputed.
# The cluster is torn down whatever happens. Needs root (the daemons and the munge key must be
# root's). Usage: tests/slurm-cluster.sh [CHAINSIM_BINARY] (default: target/debug/chainsim, built
# if missing).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${1:-target/debug/chainsim}
[ -x "$BIN" ] || cargo build --locked --quiet
BIN=$(realpath "$BIN")

say() { echo "== slurm-cluster: $*"; }
fail() { echo "FAIL slurm-cluster: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "run as root: slurmd, slurmctld and munged run as root here"

PACKAGES="slurmctld slurmd slurm-client munge"
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null \
    || ! command -v munged >/dev/null; then
    say "installing $PACKAGES"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends $PACKAGES >/dev/null 2>&1 \
        || { apt-get update >/dev/null && apt-get install -y --no-install-recommends $PACKAGES >/dev/null; }
fi

# munged insists that its key and socket folders are root's and not writable by others: the
# folder is made here, not inside the checkout.
T=$(mktemp -d /tmp/chainsim-slurm.XXXXXX)
chmod 755 "$T"
mkdir -p "$T/munge" "$T/state" "$T/spool" "$T/log" "$T/work"
export SLURM_CONF=$T/slurm.conf

teardown() {
    local status=$?
    scancel --user=root >/dev/null 2>&1 || true
    for pid in "$T/slurmd.pid" "$T/slurmctld.pid" "$T/munge/munged.pid"; do
        [ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null || true
    done
    sleep 1
    if [ $status -ne 0 ]; then
        for log in "$T"/log/*.log "$T"/work/*/slurm/logs/*.log; do
            [ -f "$log" ] && { echo "--- $log"; tail -n 20 "$log"; }
        done
    fi
    rm -rf "$T"
    exit $status
}
trap teardown EXIT

say "starting munge"
dd if=/dev/urandom of="$T/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$T/munge/munge.key"
munged --force --key-file="$T/munge/munge.key" --socket="$T/munge/munge.socket" \
    --pid-file="$T/munge/munged.pid" --log-file="$T/log/munged.log" --seed-file="$T/munge/munged.seed"

# This machine's CPUs and memory, as slurmd sees them.
read -r CPUS MEMORY < <(slurmd -C | sed -n 's/.*CPUs=\([0-9]*\).*RealMemory=\([0-9]*\).*/\1 \2/p')
cat > "$SLURM_CONF" <<EOF
ClusterName=chainsim-test
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$T/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerParameters=sched_min_interval=0,batch_sched_delay=0
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MinJobAge=600
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEMORY State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF

say "starting slurmctld and slurmd ($CPUS CPUs)"
slurmctld
slurmd -N localhost
for _ in $(seq 1 60); do
    [ "$(sinfo -h -o %T 2>/dev/null)" = idle ] && break
    sleep 0.5
done
[ "$(sinfo -h -o %T)" = idle ] || fail "the node did not come up idle: $(sinfo 2>&1)"

# The state of job $1 (COMPLETED, FAILED, CANCELLED, PENDING, RUNNING, ...).
state() { scontrol show job "$1" | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -n 1; }

# Waits for job $1 to end; prints its final state.
wait_for() {
    for _ in $(seq 1 600); do
        case "$(state "$1")" in
            PENDING | RUNNING | CONFIGURING | COMPLETING | "") sleep 0.2 ;;
            *) state "$1"; return ;;
        esac
    done
    fail "job $1 did not end within 2 minutes: $(scontrol show job "$1")"
}

# Waits until no task of job array $1 is queued or running.
wait_for_array() {
    for _ in $(seq 1 600); do
        [ -z "$(squeue -h -j "$1" 2>/dev/null)" ] && return
        sleep 0.2
    done
    fail "job array $1 did not end within 2 minutes"
}

# Submits the study into folder $1; prints "ARRAY MERGE".
submit() {
    local out
    out=$("$BIN" slurm study.ron --slices 2 --out "$1" --time 00:10:00 --sbatch-arg=--nice=0 --submit)
    echo "$out" | sed -n 's/^submitted job array \([0-9]*\) and merge job \([0-9]*\).*/\1 \2/p'
}

# Checks that result folder $1 holds the same results as the single-machine run.
same_as_single() {
    for file in runs.csv summary.csv series.csv nodes.csv manifest.json; do
        cmp -s "single/$file" "$1/$file" || fail "$1/$file differs from the single-machine run"
    done
    diff -r single/runs "$1/runs" >/dev/null || fail "$1/runs differs from the single-machine run"
}

cd "$T/work"
# Twelve runs from a few milliseconds to about a second each: slice 1 gets the largest first.
cat > study.ron <<'EOF'
(
    name: "cluster-check",
    seed: 7,
    replicates: 3,
    sweep: [("network.nodes", [2000, 5000, 10000, 20000])],
    network: (
        nodes: 2000,
        topology: RandomRegular(degree: 8),
        bandwidth: (upload: "20Mbps", download: "50Mbps"),
        contention: FairShare,
        latency: LogNormal(median: "50ms", sigma: 0.5),
    ),
    protocol: Flood(items: 3, item_size: "100KB", interval: "10s", arrivals: Periodic),
)
EOF
"$BIN" run study.ron --out single --jobs 1 --quiet

say "1. a study as a job array and a merge job"
read -r ARRAY MERGE < <(submit whole)
[ -n "$MERGE" ] || fail "chainsim slurm --submit printed no job ids"
[ "$(wait_for "$MERGE")" = COMPLETED ] || fail "merge job $MERGE ended $(state "$MERGE"); array $ARRAY"
same_as_single whole
say "merged folder identical to the single-machine run"

say "2. one array task killed mid-slice, then submitted again"
read -r ARRAY MERGE < <(submit again)
for _ in $(seq 1 600); do
    finished=$( (find again/slurm/slices/1/runs -name '*.json' 2>/dev/null || true) | wc -l)
    [ "$finished" -ge 1 ] && break
    sleep 0.05
done
[ "$(state "${ARRAY}_1")" = RUNNING ] || fail "array task ${ARRAY}_1 was no longer running when it was to be killed"
scancel "${ARRAY}_1"
[ "$(wait_for "$MERGE")" = CANCELLED ] || fail "the merge job $MERGE was not cancelled after a slice was killed"
wait_for_array "$ARRAY"
"$BIN" status again | tee status.txt
grep -q "missing" status.txt || fail "chainsim status reports no missing runs after the kill"
kept=$(find again/slurm/slices -name '*.json' -path '*/runs/*' -printf '%p %T@\n' | sort)
kept_count=$(echo "$kept" | wc -l)
say "$kept_count runs finished before the resubmission"

read -r ARRAY MERGE < <(submit again)
[ "$(wait_for "$MERGE")" = COMPLETED ] || fail "merge job $MERGE ended $(state "$MERGE") after resubmitting"
same_as_single again
while read -r path mtime; do
    [ "$(find "$path" -printf '%T@')" = "$mtime" ] || fail "$path was computed again"
done <<< "$kept"
total_reused=$(cat again/slurm/logs/slice-*.log | sed -n 's/.* \([0-9]*\) already done.*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
[ "$total_reused" = "$kept_count" ] || fail "the slices reused $total_reused runs, not the $kept_count finished ones"
"$BIN" status again | grep -q "12 finished, 0 failed, 0 missing" || fail "chainsim status does not show the study complete"
say "resubmitted: identical again, $kept_count finished runs not recomputed"
say "ok"
