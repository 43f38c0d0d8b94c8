#!/usr/bin/env bash
# Puts the last released API (io.gradus:gradus-api:VERSION) into the local Maven repository, so that
# bnd's baseline check compares the current API with it. No remote repository publishes Gradus, and
# a gradus-api:VERSION already in a local repository may be a development build of that version
# (the framework carried the release's version until the next one began), so only a jar built by
# this script from the release's commit is trusted: a marker file beside it names the commit. Any
# other is replaced by building the release from its commit (found in the git history, tag or no
# tag) and installing it.
#
#   install-release.sh VERSION COMMIT LOCAL_REPOSITORY offline=true|false MAVEN_HOME WORK_DIR
set -euo pipefail

version="$1" commit="$2" repository="$3" offline="$4" maven_home="$5" work="$6"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
installed="$repository/io/gradus/gradus-api/$version"
marker="$installed/gradus-api-$version.jar.commit"

die() { printf 'API baseline: %s\n' "$*" >&2; exit 1; }

if [ -f "$installed/gradus-api-$version.jar" ] && [ "$(cat "$marker" 2>/dev/null)" = "$commit" ]; then
  exit 0
fi

root="$(git -C "$here" rev-parse --show-toplevel 2>/dev/null)" \
  || die "the sources are not a git clone, so gradus-api $version cannot be built from its commit $commit.
Install it (mvn install at that commit), or skip the check with -Dbnd.baseline.skip=true."
git -C "$root" cat-file -e "$commit^{commit}" 2>/dev/null \
  || die "the commit of gradus-api $version ($commit) is not in this clone (a shallow one?).
Fetch the history (git fetch --unshallow), or skip the check with -Dbnd.baseline.skip=true."

printf 'API baseline: building gradus-api %s from commit %s into %s\n' "$version" "$commit" "$repository" >&2
rm -rf "$work"
mkdir -p "$work"
git -C "$root" archive "$commit" pom.xml framework/pom.xml framework/api | tar -x -C "$work"
# The release's aggregator poms list every module of that time; only the API and its two parent
# poms are extracted, so the others are dropped from the lists.
sed -i '/<module>/{/<module>framework<\/module>/!d}' "$work/pom.xml"
sed -i '/<module>/{/<module>api<\/module>/!d}' "$work/framework/pom.xml"
mvn=("$maven_home/bin/mvn" -B -Dstyle.color=never -Dmaven.repo.local="$repository")
[ "$offline" = offline=true ] && mvn+=(-o)
"${mvn[@]}" -f "$work/pom.xml" install -DskipTests >"$work/build.log" 2>&1 \
  || { tail -n 40 "$work/build.log" >&2; die "building gradus-api $version from $commit failed (log: $work/build.log)"; }
printf '%s\n' "$commit" >"$marker"
