#!/bin/sh
# Write a CSV inventory (path,extension,bytes,sha256) of every file under $1 to $2, sorted by path.
# POSIX sh with busybox/coreutils find, stat and sha256sum.
set -eu
dir="${1:?usage: inventory.sh DIRECTORY OUTPUT.csv}"
out="${2:?usage: inventory.sh DIRECTORY OUTPUT.csv}"
cd "$dir"
{
  echo "path,extension,bytes,sha256"
  find . -type f | sed 's#^\./##' | sort | while IFS= read -r file; do
    name="${file##*/}"
    case "$name" in
      ?*.*) extension="${name##*.}" ;;
      *) extension="" ;;
    esac
    bytes=$(stat -c %s "$file")
    sum=$(sha256sum "$file" | cut -d' ' -f1)
    printf '"%s",%s,%s,%s\n' "$(printf '%s' "$file" | sed 's/"/""/g')" "$extension" "$bytes" "$sum"
  done
} > "$out"
