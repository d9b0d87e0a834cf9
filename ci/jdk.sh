# Sourced by the scripts: points JAVA_HOME at a JDK 25 or newer (the FFM API, final since 22,
# and the project's release level), or stops with what to install.
sc_java_major() { "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'; }
sc_find_jdk() {
  local candidate best="" best_major=0 major
  for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/* /opt/java/* /opt/jdk*; do
    [ -n "$candidate" ] && [ -x "$candidate/bin/javac" ] || continue
    major=$(sc_java_major "$candidate")
    case "$major" in ''|*[!0-9]*) continue ;; esac
    if [ "$major" -ge 25 ] && [ "$major" -gt "$best_major" ]; then best=$candidate; best_major=$major; fi
  done
  [ -n "$best" ] && printf '%s\n' "$best"
}
if ! SC_JDK=$(sc_find_jdk); then
  echo "SectorCrypt needs a JDK 25 or newer (java.lang.foreign) and found none in JAVA_HOME or /usr/lib/jvm." >&2
  echo "Install one (e.g. Temurin 25 from packages.adoptium.net: apt-get install temurin-25-jdk) or set JAVA_HOME." >&2
  exit 1
fi
export JAVA_HOME=$SC_JDK
export PATH="$JAVA_HOME/bin:$PATH"
