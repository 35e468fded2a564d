#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL cluster: installs Debian's postgresql package when
# missing, starts a cluster in a temp dir on loopback, exports TEST_DATABASE_URL and
# BENCH_DATABASE_URL (the admin URL of that cluster), and removes everything afterwards.
# Durability settings are off: this cluster is for tests and benchmarks, never for data.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PGDIR=$(mktemp -d)
chown postgres "$PGDIR"
cleanup() {
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PGDIR"
}
trap cleanup EXIT
runuser -u postgres -- "$PGBIN/initdb" -D "$PGDIR/data" -U postgres --auth=trust -E UTF8 >/dev/null
# A port free right now (PGPORT to choose one), so two runs on one machine do not collide; a
# port taken between the check and the start is retried with another.
free_port() { node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
for attempt in 1 2 3; do
  PGPORT=${PGPORT:-$(free_port)}
  if runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w \
    -o "-k $PGDIR -c listen_addresses=127.0.0.1 -p $PGPORT -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null; then
    break
  fi
  if [ "$attempt" = 3 ]; then cat "$PGDIR/log" >&2; exit 1; fi
  unset PGPORT
done
export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
export BENCH_DATABASE_URL="$TEST_DATABASE_URL"
"$@"
