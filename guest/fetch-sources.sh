#!/usr/bin/env bash
# fetch-sources.sh DEST: downloads the source packages pinned in sources.lock into
# DEST with `apt-get source`, through eryx's own apt configuration: a private
# sources list with deb-src entries and a private lists dir under the cache. The
# machine's apt configuration is read (for its mirror) but never edited. apt's
# signature and hash checks stay on.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../scripts/lib.sh"
dest="$1"; mkdir -p "$dest"

apt_dir="$ERYX_CACHE/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
# Use the same Debian mirror as the machine's own apt sources.
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=$(awk '$1=="deb" && $0 ~ /debian/ {for(i=2;i<=NF;i++) if ($i ~ /:\/\//) {print $i; exit}}' /etc/apt/sources.list 2>/dev/null || true)
if [ -z "$mirror" ]; then
    echo "[eryx] cannot find a Debian mirror in /etc/apt/sources.list{,.d}: add one, then re-run" >&2
    exit 1
fi
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
suites=$(awk '!/^#/ && NF {print $2}' "$here/sources.lock" | sort -u)
: > "$apt_dir/sources.list"
for s in $suites; do
    echo "deb-src [signed-by=$keyring] $mirror $s main" >> "$apt_dir/sources.list"
done
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=-"
          -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
          -o "APT::Sandbox::User=root" -o "Acquire::Retries=3")
apt-get "${apt_opts[@]}" -q update

cd "$dest"
while read -r pkg suite version sha; do
    case "$pkg" in ''|'#'*) continue;; esac
    if ! apt-get "${apt_opts[@]}" -q source --download-only "$pkg=$version"; then
        echo "[eryx] $pkg $version is no longer served by the mirror." >&2
        echo "[eryx] update guest/sources.lock: 'apt-cache showsrc $pkg' with the options in $0 lists what is." >&2
        exit 1
    fi
    dsc=$(ls "${pkg}_${version#*:}.dsc")
    got=$(sha256sum "$dsc" | cut -c1-64)
    if [ "$got" != "$sha" ]; then
        echo "[eryx] $dsc has sha256 $got, sources.lock says $sha: refusing to build" >&2
        exit 1
    fi
done < "$here/sources.lock"
