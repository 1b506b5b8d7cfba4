#!/bin/sh
# Per-department statistics of the employees CSV $1, written as CSV to $2, sorted by department.
set -eu
in="${1:?usage: stats.sh INPUT.csv OUTPUT.csv}"
out="${2:?usage: stats.sh INPUT.csv OUTPUT.csv}"
{
  echo "department,employees,average_salary,max_years"
  awk -F, 'NR > 1 {
    count[$3]++; total[$3] += $5
    if (!($3 in longest) || $4 > longest[$3]) longest[$3] = $4
  }
  END { for (d in count) printf "%s,%d,%d,%d\n", d, count[d], total[d] / count[d], longest[d] }' "$in" | sort
} > "$out"
