// Read /data/cities.csv, type its columns, and write /output/cities.json (one object per city).
import { readFileSync, writeFileSync } from "node:fs";
import { parse } from "csv-parse/sync";

const rows = parse(readFileSync("/data/cities.csv", "utf8"), { columns: true, skip_empty_lines: true, trim: true });
const cities = rows.map((row) => ({
  name: row.name,
  country: row.country,
  population: Number(row.population),
  areaKm2: Number(row.area_km2),
}));
for (const city of cities) {
  if (!Number.isFinite(city.population) || !Number.isFinite(city.areaKm2) || city.areaKm2 <= 0) {
    throw new Error(`bad numbers for ${city.name}`);
  }
}
writeFileSync("/output/cities.json", JSON.stringify(cities, null, 2) + "\n");
console.log(`transformed ${cities.length} cities`);
