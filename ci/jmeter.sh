#!/usr/bin/env bash
# Assemble a runnable Apache JMeter 5.6.3 home from its Maven artifacts.
#
#   ci/jmeter.sh            -> prints the absolute JMETER_HOME on stdout
#   JMETER_HOME=$(ci/jmeter.sh)
#   "$JMETER_HOME/bin/jmeter" -n -t testcases/quickstart.jmx -l out.jtl ...
#
# Needs java (17) and mvn (3.8) on PATH; nothing else. Debian's jmeter package
# is broken (xstream ForbiddenClassException) and is not used.
#
# The home is cached in ${STAMPEDE_CACHE:-$HOME/.cache/stampede}/jmeter-5.6.3-<pom hash>
# and marked complete with .stampede-assembled; a second run only checks the
# marker. Delete the directory (or set STAMPEDE_JMETER_REBUILD=1) to rebuild.
#
# Layout produced (the binary distribution's: every one of JMeter's own
# components, as a bee installs them; no third-party plugins):
#   bin/ApacheJMeter.jar   launcher (org.apache.jmeter.NewDriver)
#   bin/jmeter             shell launcher written here (exec java -jar ...)
#   bin/*.properties, log4j2.xml, report-template/, templates/, ...
#                          unpacked from ApacheJMeter_config.jar
#   lib/*.jar              third-party jars and jorphan
#   lib/ext/ApacheJMeter_*.jar  JMeter's own components
#   lib/junit/             empty (NewDriver complains if it is missing)
#
# Progress goes to stderr; stdout carries only the JMETER_HOME line.
set -euo pipefail

JMETER_VERSION=5.6.3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${STAMPEDE_CACHE:-$HOME/.cache/stampede}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
# The pom decides what the home holds: a home assembled from another
# pom (an older, smaller set of components) is not this one.
pom_hash=$(sha256sum "$here/jmeter/pom.xml" | cut -c1-12)
home=$cache/jmeter-$JMETER_VERSION-$pom_hash
marker=$home/.stampede-assembled

log() { echo "ci/jmeter.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

if [ -f "$marker" ] && [ -z "${STAMPEDE_JMETER_REBUILD:-}" ]; then
    log "cached JMeter $JMETER_VERSION at $home"
    echo "$home"
    exit 0
fi

command -v java >/dev/null || die "java not found on PATH (need Java 17)"
command -v mvn >/dev/null || die "mvn not found on PATH (need Maven 3.8)"

stage=$(mktemp -d "$cache/.jmeter-$JMETER_VERSION.XXXXXX")
cleanup() { rm -rf "$stage"; }
trap cleanup EXIT

log "assembling JMeter $JMETER_VERSION from Maven artifacts into $home (takes ~30 s cold)"
# mvn prints on stdout; keep our stdout for the JMETER_HOME line only.
mvn -B -q -Dstyle.color=never -f "$here/jmeter/pom.xml" -Dstage="$stage" \
    dependency:copy-dependencies@jmeter-libs \
    dependency:unpack@jmeter-bin >&2 \
    || die "mvn failed to fetch the JMeter artifacts"
rm -rf "$stage/.mvn-markers"

# JMeter's own jars go to lib/ext without version (as in the distribution),
# the launcher to bin/ApacheJMeter.jar; jorphan and third-party jars stay in lib/.
mkdir -p "$stage/lib/ext" "$stage/lib/junit"
mv "$stage/lib/ApacheJMeter-$JMETER_VERSION.jar" "$stage/bin/ApacheJMeter.jar"
for jar in "$stage"/lib/ApacheJMeter_*-"$JMETER_VERSION".jar; do
    name=$(basename "$jar" "-$JMETER_VERSION.jar")
    mv "$jar" "$stage/lib/ext/$name.jar"
done

if [ ! -e "$stage/bin/jmeter" ]; then
    cat > "$stage/bin/jmeter" <<'LAUNCHER'
#!/bin/sh
# Minimal non-GUI-friendly JMeter launcher (written by stampede's ci/jmeter.sh;
# the Maven artifacts do not ship the distribution's bin/jmeter script).
# Environment, as in the upstream script:
#   JAVA_HOME  java to use (else java on PATH)
#   HEAP       heap options   (default -Xms256m -Xmx1g -XX:MaxMetaspaceSize=256m)
#   GC_ALGO    GC options     (default G1 with short pauses)
#   JVM_ARGS   extra JVM options, e.g. -Dfoo=bar
# exec: signals (SIGTERM, SIGINT) go straight to the JVM.
BIN_DIR=$(cd "$(dirname "$0")" && pwd)
[ -r "$BIN_DIR/setenv.sh" ] && . "$BIN_DIR/setenv.sh"
if [ -n "$JAVA_HOME" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    JAVA="$JAVA_HOME/bin/java"
else
    JAVA=java
fi
: "${HEAP:=-Xms256m -Xmx1g -XX:MaxMetaspaceSize=256m}"
: "${GC_ALGO:=-XX:+UseG1GC -XX:MaxGCPauseMillis=100 -XX:G1ReservePercent=20}"
# shellcheck disable=SC2086
exec "$JAVA" $HEAP $GC_ALGO -Djava.awt.headless=true $JVM_ARGS \
    -jar "$BIN_DIR/ApacheJMeter.jar" "$@"
LAUNCHER
    chmod 755 "$stage/bin/jmeter"
fi

for f in bin/ApacheJMeter.jar bin/jmeter bin/jmeter.properties \
         bin/saveservice.properties bin/upgrade.properties bin/system.properties \
         bin/user.properties bin/log4j2.xml bin/reportgenerator.properties \
         lib/ext/ApacheJMeter_core.jar lib/ext/ApacheJMeter_http.jar \
         lib/ext/ApacheJMeter_components.jar lib/ext/ApacheJMeter_config.jar \
         lib/ext/ApacheJMeter_functions.jar lib/ext/ApacheJMeter_java.jar \
         lib/ext/ApacheJMeter_jdbc.jar lib/ext/ApacheJMeter_tcp.jar \
         lib/ext/ApacheJMeter_ftp.jar lib/ext/ApacheJMeter_ldap.jar \
         lib/ext/ApacheJMeter_jms.jar lib/ext/ApacheJMeter_mail.jar \
         lib/ext/ApacheJMeter_native.jar lib/ext/ApacheJMeter_bolt.jar \
         lib/ext/ApacheJMeter_mongodb.jar lib/ext/ApacheJMeter_junit.jar \
         "lib/jorphan-$JMETER_VERSION.jar"; do
    [ -e "$stage/$f" ] || die "assembled home lacks $f"
done

echo "JMeter $JMETER_VERSION assembled from org.apache.jmeter Maven artifacts by ci/jmeter.sh" \
    > "$stage/.stampede-assembled"
chmod 755 "$stage"   # mktemp made it 0700

# Publish atomically: a half-built home never carries the marker.
if [ -f "$marker" ] && [ -z "${STAMPEDE_JMETER_REBUILD:-}" ]; then
    log "another run assembled $home meanwhile; using it"
    echo "$home"
    exit 0
fi
rm -rf "$home"
if ! mv -T "$stage" "$home" 2>/dev/null; then
    # another run won the race; use its home if it is complete
    [ -f "$marker" ] || die "could not move the assembled home to $home"
fi
trap - EXIT
rm -rf "$stage"

log "JMeter $JMETER_VERSION ready at $home"
echo "$home"
