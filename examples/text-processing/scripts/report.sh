#!/bin/sh
# Print a plain-text report from the outputs of `stats` (/input/stats) and `senior` (/input/senior).
set -eu
echo "Employees report"
echo "================"
echo
echo "Per department (employees, average salary, longest tenure):"
awk -F, 'NR > 1 { printf "  %-12s %4d  %6d  %2d years\n", $1, $2, $3, $4 }' /input/stats/stats.csv
echo
senior=$(awk 'END { print NR - 1 }' /input/senior/senior.csv)
echo "Senior staff (10+ years): $senior"
