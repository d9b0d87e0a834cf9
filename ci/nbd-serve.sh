# Sourced by the scripts that run `sectorcrypt serve` in the background (ci/main-job,
# ci/check-nbd.sh, ci/check-nbd-fs.sh, ci/bench-nbd.sh): one home for starting it, reading its
# URIs and stopping it. The caller sets $work (a scratch directory) and defines fail().
# $pid is the server's: the launcher execs the JVM, so $! is the JVM and SIGTERM reaches it.
pid=

# serve ARGS...: starts `sectorcrypt serve ARGS...` and waits until it has printed a 'serving'
# line per --export/--temp argument (each holds one '='); its output goes to $work/serve.out
# and $work/serve.err.
serve() {
  # The previous server's lines must not pass for this one's: the redirection below truncates
  # only once the background shell runs, which may be after the first grep.
  rm -f "$work/serve.out"
  ./sectorcrypt serve "$@" > "$work/serve.out" 2> "$work/serve.err" &
  pid=$!
  local exports
  exports=$(printf '%s\n' "$@" | grep -c -e '=' || true)
  for _ in $(seq 240); do
    [ "$(grep -cs '^serving ' "$work/serve.out" || true)" -ge "$exports" ] && return 0
    kill -0 "$pid" 2>/dev/null || fail "the server exited: $(cat "$work/serve.err")"
    sleep 0.25
  done
  fail "the server did not start in 60 s"
}

# uri NAME: the URI the server printed for export NAME.
uri() { sed -n "s/^serving $1 .* at //p" "$work/serve.out"; }

# stop_server: SIGTERM, as an init system sends; the JVM exits 143 (128 + SIGTERM) after its
# hooks have flushed and closed every volume.
stop_server() {
  kill -TERM "$pid"
  local rc=0
  wait "$pid" || rc=$?
  pid=
  [ "$rc" = 0 ] || [ "$rc" = 143 ] || fail "the server exited $rc on SIGTERM"
}

# kill_server: for EXIT traps; stops a server still running, whatever its exit status.
kill_server() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    wait "$pid" 2>/dev/null || true
  fi
  pid=
}
