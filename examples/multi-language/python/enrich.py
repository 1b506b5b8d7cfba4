"""Add a slug, the density and a density class to each city of /input/transform/cities.json."""

import json
from pathlib import Path

from slugify import slugify


def density_class(density: float) -> str:
    if density >= 5000:
        return "very dense"
    if density >= 1000:
        return "dense"
    return "sparse"


cities = json.loads(Path("/input/transform/cities.json").read_text(encoding="utf-8"))
for city in cities:
    city["slug"] = slugify(city["name"])
    city["density"] = round(city["population"] / city["areaKm2"], 1)
    city["densityClass"] = density_class(city["density"])
Path("/output/cities.json").write_text(json.dumps(cities, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
print(f"enriched {len(cities)} cities")
