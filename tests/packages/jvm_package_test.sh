#!/usr/bin/env bash
# The jar as a user gets it (docs/PACKAGES.md): smallpeer.jar and its smallpeer.pom, copied into a
# temporary directory. The class path is the jar plus the pom's dependencies, each resolved by its
# Maven coordinates in Debian's Maven repository (/usr/share/maven-repo), as Maven would resolve
# them; nothing of the source or build tree is on it. A Java program (javac/java) and a Kotlin one
# (kotlinc, run with java) each open a small peer, turn Small Peer Info on with BigPeerOnly and
# sync to a real Big Peer; the test waits for each device in GET /api/v1/devices.
# Usage: jvm_package_test.sh JAR POM SMALLPEER_CLI   (ctest package_jvm passes the dev build's)
set -euo pipefail
jar=${1:?usage: jvm_package_test.sh JAR POM SMALLPEER_CLI}
pom=${2:?usage: jvm_package_test.sh JAR POM SMALLPEER_CLI}
cli=${3:?usage: jvm_package_test.sh JAR POM SMALLPEER_CLI}
here=$(cd "$(dirname "$0")" && pwd)
PACKAGE_TEST=package_jvm
# shellcheck source=lib.sh
source "$here/lib.sh"
repo=/usr/share/maven-repo

cp "$jar" "$work/smallpeer.jar"
cp "$pom" "$work/smallpeer.pom"
# The pom's <dependency> coordinates, one "group artifact version" per line.
deps=$(python3 - "$work/smallpeer.pom" <<'PY'
import sys
import xml.etree.ElementTree as ET

ns = {"m": "http://maven.apache.org/POM/4.0.0"}
root = ET.parse(sys.argv[1]).getroot()
for dep in root.findall("m:dependencies/m:dependency", ns):
    print(*(dep.findtext(f"m:{k}", namespaces=ns) for k in ("groupId", "artifactId", "version")))
PY
)
classpath=$work/smallpeer.jar
while read -r group artifact version; do
  dep=$repo/${group//.//}/$artifact/$version/$artifact-$version.jar
  [[ -f $dep ]] || fail "the pom's dependency $group:$artifact:$version is not in $repo"
  cp "$dep" "$work/"
  classpath+=:$work/$artifact-$version.jar
  step "dependency $group:$artifact:$version"
done <<<"$deps"
kotlin_stdlib=$(find "$work" -maxdepth 1 -name 'kotlin-stdlib-*.jar' -print -quit)
[[ -n $kotlin_stdlib ]] || fail "the pom names no kotlin-stdlib"

mkdir "$work/java" "$work/kotlin"
step "javac against the jar and the pom's dependencies"
javac -d "$work/java" -cp "$classpath" "$here/jvm_consumer/Consumer.java"
step "kotlinc against the jar (and the Kotlin standard library)"
kotlinc -no-stdlib -cp "$kotlin_stdlib:$work/smallpeer.jar" -d "$work/kotlin" "$here/jvm_consumer/Consumer.kt" 2>&1 |
  { grep -v '^warning: unable to find kotlin-\|VM warning: Options -Xverify:none' || true; }

step "starting the Big Peer"
start_big_peer "$cli"
check_consumer java-consumer java -cp "$work/java:$classpath" Consumer
check_consumer kotlin-consumer java -cp "$work/kotlin:$classpath" ConsumerKt
step "ok"
