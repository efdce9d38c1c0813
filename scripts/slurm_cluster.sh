#!/usr/bin/env bash
# A throw-away single-node Slurm cluster on this machine, for the integration test (tests/test_slurm.py).
#
#   scripts/slurm_cluster.sh start    install what is missing (apt-get, as root), write the configs, start
#                                     munged, mariadbd, slurmdbd, slurmctld and slurmd; prints the export
#   scripts/slurm_cluster.sh status   the daemons and the node; exit 0 when the cluster takes jobs
#   scripts/slurm_cluster.sh stop     cancel its jobs, stop the daemons (state and logs are kept)
#
# Everything lives in $SLURM_CLUSTER_DIR (default .slurm-cluster/ in the repository, git-ignored): its own
# munge key and socket, its own ports ($SLURM_CLUSTER_PORT..+2), database, state and logs, so a system
# Slurm, munge or MariaDB on the machine is left alone. Clients find it through SLURM_CONF:  export SLURM_CONF=$SLURM_CLUSTER_DIR/slurm.conf
# Accounting goes through slurmdbd into a private MariaDB, so `sacct` lists jobs (submitit polls it too).
# Every start is a fresh cluster: job ids and the accounting database start again from empty.
# The daemons run as root (SlurmUser=root): a test cluster, not a production set-up.
set -euo pipefail

DIR=${SLURM_CLUSTER_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.slurm-cluster}
PORT=${SLURM_CLUSTER_PORT:-16817}        # slurmctld; slurmd on PORT+1, slurmdbd on PORT+2
CLUSTER=repro
CONF=$DIR/slurm.conf
NODE=$(hostname -s)
export SLURM_CONF=$CONF MYSQL_UNIX_PORT=$DIR/db/mysqld.sock
PIDFILES=("$DIR/slurmd.pid" "$DIR/slurmctld.pid" "$DIR/slurmdbd.pid" "$DIR/db/mysqld.pid" "$DIR/munge/munged.pid")

log() { echo "slurm_cluster: $*" >&2; }
die() { log "$*"; exit 1; }
alive() { [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }   # alive PIDFILE

wait_for() {  # wait_for SECONDS COMMAND...: poll COMMAND every 0.5 s until it succeeds
    local deadline=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do (( SECONDS < deadline )) || return 1; sleep 0.5; done
}

install_packages() {
    local missing=()
    for cmd in munged mariadbd slurmdbd slurmctld slurmd sbatch sacct; do
        command -v "$cmd" >/dev/null || missing+=("$cmd")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    [[ $(id -u) -eq 0 ]] || die "missing ${missing[*]} and not root: cannot apt-get install them"
    command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get to install them"
    log "apt-get install slurm-wlm slurmdbd munge mariadb-server (missing: ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends slurm-wlm slurmdbd munge mariadb-server >/dev/null
}

write_confs() {
    local cpus mem
    cpus=$(nproc)
    mem=$(free -m | awk '/^Mem:/ {print $2}')
    mem=$(( mem - (mem / 10 > 512 ? mem / 10 : 512) ))   # headroom: 10 % or 512 MB
    cat >"$CONF" <<EOF
# Written by scripts/slurm_cluster.sh: one node (this machine), for tests.
ClusterName=$CLUSTER
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge/munge.socket.2
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$((PORT + 2))
# With munge, AccountingStoragePass names the munge socket for talking to slurmdbd.
AccountingStoragePass=$DIR/munge/munge.socket.2
MinJobAge=300
MailProg=/bin/true
KillWait=5
InactiveLimit=0
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    cat >"$DIR/slurmdbd.conf" <<EOF
AuthType=auth/munge
AuthInfo=socket=$DIR/munge/munge.socket.2
DbdHost=$NODE
DbdAddr=127.0.0.1
DbdPort=$((PORT + 2))
SlurmUser=root
PidFile=$DIR/slurmdbd.pid
LogFile=$DIR/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=slurm
StorageLoc=slurm_acct_db
EOF
    chmod 600 "$DIR/slurmdbd.conf"   # slurmdbd refuses a readable one
}

start_munge() {
    mkdir -p "$DIR/munge" && chmod 755 "$DIR/munge"
    [[ -s $DIR/munge/munge.key ]] || { dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
                                       chmod 400 "$DIR/munge/munge.key"; }
    munged --force --socket="$DIR/munge/munge.socket.2" --key-file="$DIR/munge/munge.key" \
        --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/munged.seed"
    wait_for 10 test -S "$DIR/munge/munge.socket.2" || die "munged did not start: $(tail -n 3 "$DIR/log/munged.log")"
}

start_database() {  # a private MariaDB on a socket only (no TCP port), a fresh data directory every start
    mkdir -p "$DIR/db"
    mariadb-install-db --user=root --datadir="$DIR/db/data" --auth-root-authentication-method=socket \
        --skip-test-db >"$DIR/log/mariadb-install.log" 2>&1 \
        || die "mariadb-install-db failed: see $DIR/log/mariadb-install.log"
    mariadbd --user=root --datadir="$DIR/db/data" --socket="$MYSQL_UNIX_PORT" --skip-networking \
        --pid-file="$DIR/db/mysqld.pid" --log-error="$DIR/log/mariadb.log" --innodb-buffer-pool-size=64M \
        --innodb-lock-wait-timeout=900 </dev/null >/dev/null 2>&1 &
    wait_for 30 mariadb --socket="$MYSQL_UNIX_PORT" -e "select 1" \
        || die "mariadbd did not start: $(tail -n 3 "$DIR/log/mariadb.log")"
    mariadb --socket="$MYSQL_UNIX_PORT" -e "create user 'slurm'@'localhost' identified by 'slurm';
                                           grant all on slurm_acct_db.* to 'slurm'@'localhost';"
}

node_idle() { [[ $(sinfo -h -n "$NODE" -o %T 2>/dev/null) =~ ^(idle|mixed|allocated) ]]; }

start() {
    if status >/dev/null 2>&1; then log "already running"; echo "export SLURM_CONF=$CONF"; return 0; fi
    install_packages
    stop >/dev/null 2>&1 || true
    rm -rf "$DIR/state" "$DIR/spool" "$DIR/db" "$DIR/log"
    mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log"
    write_confs
    start_munge
    start_database
    slurmdbd
    wait_for 30 sacctmgr -i add cluster "$CLUSTER" \
        || die "slurmdbd did not start: $(tail -n 5 "$DIR/log/slurmdbd.log")"
    slurmctld -f "$CONF"
    wait_for 20 scontrol ping || die "slurmctld did not start: $(tail -n 5 "$DIR/log/slurmctld.log")"
    slurmd -f "$CONF"
    if ! wait_for 30 node_idle; then
        scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true
        wait_for 10 node_idle \
            || die "node $NODE not idle: $(sinfo -h -N -o '%N %T %E'); $(tail -n 5 "$DIR/log/slurmd.log")"
    fi
    log "up: partition $(sinfo -h -o '%P, %D node, %c CPUs, %m MB, %T'), slurm $(sinfo -V | awk '{print $2}')"
    echo "export SLURM_CONF=$CONF"
}

terminate() {  # terminate PIDFILE...: SIGTERM them all, wait up to 10 s, then SIGKILL what is left
    local pids=() left=() pidfile pid
    for pidfile in "$@"; do
        alive "$pidfile" && pids+=("$(cat "$pidfile")")
        rm -f "$pidfile"
    done
    [[ ${#pids[@]} -eq 0 ]] && return 0
    kill "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 50); do
        left=()
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && left+=("$pid"); done
        [[ ${#left[@]} -eq 0 ]] && return 0
        sleep 0.2
    done
    kill -9 "${left[@]}" 2>/dev/null || true
}

stop() {
    if alive "$DIR/slurmctld.pid"; then
        local jobs; jobs=$(squeue -h -o %A 2>/dev/null || true)
        [[ -n $jobs ]] && scancel --full $jobs 2>/dev/null && sleep 1
    fi
    terminate "$DIR/slurmd.pid" "$DIR/slurmctld.pid" "$DIR/slurmdbd.pid"   # the Slurm daemons, then
    terminate "$DIR/db/mysqld.pid" "$DIR/munge/munged.pid"                  # what they talk to
    log "stopped"
}

status() {
    local down=0 name
    for pidfile in "${PIDFILES[@]}"; do
        name=$(basename "$pidfile" .pid)
        if alive "$pidfile"; then echo "$name running (pid $(cat "$pidfile"))"
        else echo "$name not running"; down=1; fi
    done
    [[ $down -eq 0 ]] && node_idle && sinfo -N -o '%N %P %T %c %m' || return 1
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 {start|stop|status}" >&2; exit 2 ;;
esac
