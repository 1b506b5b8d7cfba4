#!/bin/sh
# Check the employees CSV $1 for duplicate ids and out-of-range values; write the findings to $2.
set -eu
in="${1:?usage: audit.sh INPUT.csv OUTPUT.txt}"
out="${2:?usage: audit.sh INPUT.csv OUTPUT.txt}"
awk -F, 'NR > 1 {
  rows++
  if (seen[$1]++) { print "duplicate id " $1; problems++ }
  if ($5 <= 0) { print "row " NR ": salary " $5 " is not positive"; problems++ }
  if ($4 < 0 || $4 > 60) { print "row " NR ": years " $4 " out of range"; problems++ }
}
END { printf "audit: %d rows, %d problems\n", rows, problems }' "$in" > "$out"
