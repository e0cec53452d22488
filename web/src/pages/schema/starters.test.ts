// Tests of the schema page's starter queries.
import { describe, expect, it } from "vitest";
import { aboutColumn, columnStarter, keyStarter, metricStarter, queryHref, tableStarter } from "./starters";

describe("starter queries", () => {
  it("fits the column's type", () => {
    expect(columnStarter("logs", "logs", "timestamp", "timestamp")).toBe("SELECT bucket() AS t, count(*) FROM logs GROUP BY t ORDER BY t");
    expect(columnStarter("logs", "logs", "level", "string")).toBe("SELECT level, count(*) FROM logs GROUP BY level ORDER BY count(*) DESC LIMIT 20");
    expect(columnStarter("spans", "spans", "duration_ms", "float")).toBe("SELECT bucket() AS t, avg(duration_ms), p95(duration_ms), max(duration_ms) FROM spans GROUP BY t ORDER BY t");
    expect(columnStarter("host", "metric namespace", "cpu_usage_pct", "float")).toBe("SELECT bucket() AS t, host, avg(cpu_usage_pct) FROM host GROUP BY t, host ORDER BY t");
    expect(columnStarter("logs", "logs", "body", "string")).toBe("SELECT timestamp, body FROM logs WHERE body IS NOT NULL ORDER BY timestamp DESC LIMIT 100");
    expect(columnStarter("logs", "logs", "attributes", "map")).toContain("SELECT timestamp, attributes FROM logs");
  });

  it("quotes what needs quoting", () => {
    expect(keyStarter("logs", "attributes", "it's")).toBe("SELECT attributes['it''s'] AS value, count(*) FROM logs GROUP BY value ORDER BY count(*) DESC LIMIT 20");
    expect(columnStarter("my ns", "metric namespace", "order", "float")).toBe('SELECT bucket() AS t, host, avg("order") FROM "my ns" GROUP BY t, host ORDER BY t');
    expect(metricStarter("host.cpu_usage_pct")).toContain("WHERE name = 'host.cpu_usage_pct'");
    expect(tableStarter("spans")).toBe("SELECT * FROM spans ORDER BY timestamp DESC LIMIT 100");
    expect(queryHref("SELECT 1 FROM logs")).toBe("/query?q=SELECT+1+FROM+logs");
  });
  it("opens a key stored as a column as the map access it stands for", () => {
    expect(columnStarter("logs", "logs", "attributes['http.route']", "string")).toBe(keyStarter("logs", "attributes", "http.route"));
    expect(columnStarter("spans", "spans", "resource['it's']", "string")).toBe("SELECT resource['it''s'] AS value, count(*) FROM spans GROUP BY value ORDER BY count(*) DESC LIMIT 20");
    expect(aboutColumn("logs", "attributes['http.route']")).toContain("stored as a column");
  });
});
