# Sourced by .ci/run and .ci/with-postgres: start_postgres starts a throwaway
# PostgreSQL cluster on a loopback port, stops it (pg_ctl stop -m immediate) and
# deletes it when the shell exits, and exports BILLING_POSTGRES_URL (the server,
# whose user "postgres" may create databases) and BILLING_POSTGRES=1 (the
# PostgreSQL tests fail instead of skipping). PostgreSQL comes from Debian's
# packages when missing. It refuses to run as root: as root, the cluster runs as
# the unprivileged user "postgres" (created by the package) or "billingpg".

# pg_bindir prints the newest /usr/lib/postgresql/<version>/bin, or nothing.
pg_bindir() {
	ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true
}

start_postgres() {
	local bin
	bin="$(pg_bindir)"
	if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
		local sudo=""
		[ "$(id -u)" -eq 0 ] || sudo="sudo"
		$sudo apt-get update -qq
		$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
		bin="$(pg_bindir)"
	fi
	[ -x "$bin/initdb" ] || { echo "postgres: no initdb in /usr/lib/postgresql/*/bin"; return 1; }

	local as=()
	PG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/billing-pg.XXXXXX")"
	if [ "$(id -u)" -eq 0 ]; then
		local user=postgres
		if ! id -u "$user" >/dev/null 2>&1; then
			user=billingpg
			id -u "$user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
		fi
		chown "$user" "$PG_DIR"
		as=(runuser -u "$user" --)
	fi

	PG_CTL=("${as[@]}" "$bin/pg_ctl" -D "$PG_DIR/data")
	trap stop_postgres EXIT
	"${as[@]}" "$bin/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --no-sync >"$PG_DIR/initdb.log" 2>&1 ||
		{ cat "$PG_DIR/initdb.log"; return 1; }
	# The first free loopback port of 55433-55533. A port that answers is
	# skipped; one that looked free may still be taken before the server binds
	# it (by another job on the machine): then the next one is tried.
	local port log started=""
	for port in $(seq 55433 55533); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
		log="$PG_DIR/server-$port.log"
		# fsync off: the cluster is thrown away (the stores' own durability is not what it tests).
		if "${PG_CTL[@]}" -l "$log" -w -o "-p $port -k $PG_DIR -h 127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null; then
			started=1
			break
		fi
		grep -q "Address already in use" "$log" || { cat "$log"; return 1; }
		echo "postgres: 127.0.0.1:$port was taken meanwhile; trying the next port" >&2
	done
	[ -n "$started" ] || { echo "postgres: no free port in 55433-55533 on 127.0.0.1"; return 1; }
	export BILLING_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
	export BILLING_POSTGRES=1
	echo "postgres: $("$bin/postgres" --version) on 127.0.0.1:$port (BILLING_POSTGRES_URL)"
}

stop_postgres() {
	if [ -n "${PG_DIR:-}" ]; then
		"${PG_CTL[@]}" stop -m immediate >/dev/null 2>&1 || true
		rm -rf "$PG_DIR"
		PG_DIR=""
	fi
}
