#!/usr/bin/env bash
# tests/packages/fetch.sh DEST: puts the packages pinned in pypi.lock into DEST
# (sdists unpacked: markupsafe's source tree is a package too). Each file is
# downloaded once into $ERYX_CACHE/downloads/<sha256>/ and its hash checked every
# time it is used.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../../scripts/lib.sh"
dest="$1"
mkdir -p "$dest"
while read -r file sha url; do
    case "$file" in ''|'#'*) continue ;; esac
    cached="$ERYX_CACHE/downloads/$sha/$file"
    if [ ! -f "$cached" ]; then
        mkdir -p "$(dirname "$cached")"
        curl -fsSL --retry 3 -o "$cached.part" "$url" || { echo "fetch.sh: cannot download $url" >&2; exit 1; }
        mv "$cached.part" "$cached"
    fi
    if ! echo "$sha  $cached" | sha256sum -c --quiet -; then
        echo "fetch.sh: $cached does not match its pinned SHA-256; removed, run again" >&2
        rm -f "$cached"; exit 1
    fi
    case "$file" in
        *.tar.gz) rm -rf "$dest/${file%.tar.gz}"; tar xzf "$cached" -C "$dest" ;;
        *) cp "$cached" "$dest/$file" ;;
    esac
done < "$here/pypi.lock"
echo "fetch.sh: packages ready in $dest" >&2
