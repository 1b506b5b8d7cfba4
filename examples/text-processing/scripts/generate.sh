#!/bin/sh
# Write a deterministic employees CSV (id,name,department,years,salary) to $1; $ROWS rows (default 200).
# Plain POSIX sh and awk: runs with busybox as well as GNU tools.
set -eu
out="${1:?usage: generate.sh OUTPUT.csv}"
awk -v rows="${ROWS:-200}" 'BEGIN {
  split("engineering sales support finance", departments, " ")
  print "id,name,department,years,salary"
  for (i = 1; i <= rows; i++) {
    printf "%d,employee-%03d,%s,%d,%d\n", i, i, departments[(i % 4) + 1], (i * 7) % 25, 30000 + (i * 7919) % 50000
  }
}' > "$out"
