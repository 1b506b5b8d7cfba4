"""Write /output/summary.md from the enriched cities and the node analysis (standard library only)."""

import json
from pathlib import Path

cities = json.loads(Path("/input/enrich/cities.json").read_text(encoding="utf-8"))
analysis = json.loads(Path("/input/analyse/analysis.json").read_text(encoding="utf-8"))

lines = [
    "# Cities",
    "",
    f"{analysis['cities']} cities in {analysis['countries']} countries, "
    f"{analysis['totalPopulation']:,} people; largest {analysis['largest']}, smallest {analysis['smallest']}.",
    "",
    "| city | slug | density (/km²) | class |",
    "|---|---|---:|---|",
]
for city in sorted(cities, key=lambda c: c["density"], reverse=True):
    lines.append(f"| {city['name']} | {city['slug']} | {city['density']:,} | {city['densityClass']} |")
Path("/output/summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
print("\n".join(lines))
