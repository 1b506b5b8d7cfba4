// Statistics over /input/transform/cities.json, written to /output/analysis.json.
import { readFileSync, writeFileSync } from "node:fs";

const cities = JSON.parse(readFileSync("/input/transform/cities.json", "utf8"));
const total = cities.reduce((sum, city) => sum + city.population, 0);
const byPopulation = [...cities].sort((a, b) => b.population - a.population);
const analysis = {
  cities: cities.length,
  countries: new Set(cities.map((city) => city.country)).size,
  totalPopulation: total,
  meanPopulation: Math.round(total / cities.length),
  largest: byPopulation[0].name,
  smallest: byPopulation[byPopulation.length - 1].name,
};
writeFileSync("/output/analysis.json", JSON.stringify(analysis, null, 2) + "\n");
console.log(`analysed ${analysis.cities} cities in ${analysis.countries} countries`);
