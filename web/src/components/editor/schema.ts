// What the org's telemetry looks like, from OQL itself: tables (`SHOW TABLES`), columns
// (`DESCRIBE`) and the map keys seen in recent rows. Cached per org for a minute, because
// completion asks on every keystroke and the schema page asks for the same things.
import { oql, records } from "../../lib/api";
import { quoteIdent } from "../../lib/oqlLanguage";
import { currentOrg } from "../../lib/session";

export interface TableInfo {
  name: string;
  /** `logs`, `spans`, `metrics` or `metric namespace`. */
  kind: string;
}
export interface ColumnInfo {
  name: string;
  /** `timestamp`, `string`, `integer`, `float`, `boolean`, `map`, `list`. */
  type: string;
  /** For a metric namespace's column: the metric it is (`host.cpu_usage_pct`). */
  metric: string | null;
}
export interface KeyCount {
  key: string;
  /** Sampled rows that carry the key. */
  rows: number;
}
export interface MapKeys {
  attributes: KeyCount[];
  resource: KeyCount[];
  /** Rows looked at. */
  sampled: number;
}

const TTL_MS = 60_000;
const cache = new Map<string, { at: number; value: Promise<unknown> }>();

function cached<T>(key: string, load: () => Promise<T>): Promise<T> {
  const full = `${currentOrg.value?.id ?? "-"}:${key}`;
  const hit = cache.get(full);
  if (hit && Date.now() - hit.at < TTL_MS) return hit.value as Promise<T>;
  const value = load();
  cache.set(full, { at: Date.now(), value });
  // A failure is not remembered: the next ask tries again.
  value.catch(() => cache.delete(full));
  return value;
}

/** Forgets everything (after data arrives that may add tables or keys). */
export function clearSchemaCache() {
  cache.clear();
}

export const loadTables = (): Promise<TableInfo[]> =>
  cached("tables", async () => records(await oql("SHOW TABLES")).map((r) => ({ name: String(r.table), kind: String(r.kind) })));

export const loadColumns = (table: string): Promise<ColumnInfo[]> =>
  cached(`columns:${table}`, async () =>
    records(await oql(`DESCRIBE ${quoteIdent(table)}`)).map((r) => ({ name: String(r.column), type: String(r.type), metric: r.metric == null ? null : String(r.metric) })),
  );

/** The map and key of a column `DESCRIBE` lists for a key stored as a column of its own
 * (`attributes['http.route']`: a frequent key, fast to filter and group by); null for any
 * other column. */
export function promotedColumn(name: string): { map: "attributes" | "resource"; key: string } | null {
  const m = /^(attributes|resource)\['(.*)'\]$/s.exec(name);
  return m ? { map: m[1] as "attributes" | "resource", key: m[2] } : null;
}

/** The keys of `map` that the table stores as columns of their own. */
export function promotedKeys(columns: ColumnInfo[], map: "attributes" | "resource"): string[] {
  return columns.flatMap((c) => {
    const promoted = promotedColumn(c.name);
    return promoted && promoted.map === map ? [promoted.key] : [];
  });
}

/** Rows sampled for map keys: the newest of the last day. */
export const KEY_SAMPLE_ROWS = 1000;

/** Counts the keys of each map in `rows` (objects), most frequent first. */
export function countKeys(rows: unknown[]): KeyCount[] {
  const counts = new Map<string, number>();
  for (const row of rows) {
    if (!row || typeof row !== "object") continue;
    for (const key of Object.keys(row)) counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()].map(([key, n]) => ({ key, rows: n })).sort((a, b) => b.rows - a.rows || a.key.localeCompare(b.key));
}

/** The attribute and resource keys of the table's newest rows. OQL has no function that
 * lists a map's keys, so this samples rows and counts what they carry. */
export const loadMapKeys = (table: string): Promise<MapKeys> =>
  cached(`keys:${table}`, async () => {
    const answer = await oql(`SELECT attributes, resource FROM ${quoteIdent(table)} ORDER BY timestamp DESC LIMIT ${KEY_SAMPLE_ROWS}`, { from: "now-24h", to: "now" });
    return {
      attributes: countKeys(answer.rows.map((r) => r[0])),
      resource: countKeys(answer.rows.map((r) => r[1])),
      sampled: answer.rows.length,
    };
  });
