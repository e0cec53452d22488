// Unit tests of host metrics logic: present columns, latest windows, latest per host,
// sorting and tones.
import { describe, expect, it } from "vitest";
import { formatLoad, formatPct, hostSeriesQuery, lastValue, latestPerHost, latestRowsQuery, latestWindows, meterTone, metricSeries, oqlString, presentMetrics, sortHosts, stripHosts, type HostLatest } from "./hosts";

const at = (s: string) => Date.parse(`2026-01-01T${s}Z`);

describe("presentMetrics", () => {
  it("keeps the agent's columns the table has, in display order", () => {
    const rows = ["timestamp", "host", "load_1m", "cpu_usage_pct", "network_rx_bytes", "disk_used_pct"].map((column) => ({ column }));
    expect(presentMetrics(rows)).toEqual(["cpu_usage_pct", "disk_used_pct", "load_1m"]);
  });
  it("builds the latest-rows query", () => {
    expect(latestRowsQuery(["cpu_usage_pct", "load_1m"], false)).toBe("SELECT host, timestamp, max(cpu_usage_pct) AS cpu_usage_pct, max(load_1m) AS load_1m FROM host GROUP BY host, timestamp");
    expect(latestRowsQuery(["cpu_usage_pct"], true)).toContain("WHERE host IN ($hosts)");
  });
});

describe("latestWindows", () => {
  const rangeFrom = at("09:00:00");
  const rangeTo = at("10:00:00");
  it("reads the lookback before the newest point for live hosts", () => {
    const seen = new Map([
      ["a", at("09:59:50")],
      ["b", at("09:59:40")],
    ]);
    expect(latestWindows(seen, 120_000, rangeFrom, rangeTo)).toEqual([{ hosts: null, from: at("09:57:50"), to: at("09:59:50") + 1 }]);
  });
  it("adds a window for hosts that went quiet earlier", () => {
    const seen = new Map([
      ["a", at("09:59:50")],
      ["gone", at("09:20:00")],
      ["gone2", at("09:10:00")],
    ]);
    const w = latestWindows(seen, 120_000, rangeFrom, rangeTo);
    expect(w).toHaveLength(2);
    expect(w[1]).toEqual({ hosts: ["gone", "gone2"], from: at("09:08:00"), to: at("09:20:00") + 1 });
  });
  it("stays inside the range", () => {
    const seen = new Map([["a", at("09:00:30")]]);
    expect(latestWindows(seen, 120_000, rangeFrom, rangeTo)).toEqual([{ hosts: null, from: rangeFrom, to: at("09:00:30") + 1 }]);
    expect(latestWindows(new Map(), 120_000, rangeFrom, rangeTo)).toEqual([]);
  });
});

describe("latestPerHost", () => {
  const metrics = ["cpu_usage_pct", "disk_used_pct"] as const;
  it("takes each metric's newest value per host", () => {
    const rows = [
      { host: "a", timestamp: "2026-01-01T09:59:00Z", cpu_usage_pct: 10, disk_used_pct: 50 },
      { host: "a", timestamp: "2026-01-01T09:59:30Z", cpu_usage_pct: 20, disk_used_pct: null },
      { host: "a", timestamp: "2026-01-01T09:58:30Z", cpu_usage_pct: 99, disk_used_pct: 99 },
      { host: "b", timestamp: "2026-01-01T09:59:30Z", cpu_usage_pct: 5, disk_used_pct: 70 },
    ];
    const out = latestPerHost(rows, metrics);
    expect(out.find((h) => h.host === "a")).toEqual({ host: "a", lastSeen: at("09:59:30"), values: { cpu_usage_pct: 20, disk_used_pct: 50 } });
    expect(out.find((h) => h.host === "b")?.values).toEqual({ cpu_usage_pct: 5, disk_used_pct: 70 });
  });
  it("resolves rows at one instant to the largest value (the fullest disk)", () => {
    const rows = [
      { host: "a", timestamp: at("09:59:30"), disk_used_pct: 40 },
      { host: "a", timestamp: at("09:59:30"), disk_used_pct: 85 },
      { host: "a", timestamp: at("09:59:30"), disk_used_pct: 60 },
    ];
    expect(latestPerHost(rows, metrics)[0].values.disk_used_pct).toBe(85);
  });
  it("keeps hosts known only by last seen, and prefers that time", () => {
    const seen = new Map([
      ["a", at("09:59:40")],
      ["z", at("09:30:00")],
    ]);
    const out = latestPerHost([{ host: "a", timestamp: at("09:59:30"), cpu_usage_pct: 1 }], metrics, seen);
    expect(out.find((h) => h.host === "a")?.lastSeen).toBe(at("09:59:40"));
    expect(out.find((h) => h.host === "z")).toEqual({ host: "z", lastSeen: at("09:30:00"), values: { cpu_usage_pct: null, disk_used_pct: null } });
  });
});

describe("sortHosts", () => {
  const h = (host: string, cpu: number | null, lastSeen = 0): HostLatest => ({ host, lastSeen, values: { cpu_usage_pct: cpu } });
  const hosts = [h("b", 50, 2), h("a", 90, 1), h("c", null, 3), h("d", 50, 4)];
  it("sorts by a metric either way with missing values last", () => {
    expect(sortHosts(hosts, "cpu_usage_pct", "desc").map((x) => x.host)).toEqual(["a", "b", "d", "c"]);
    expect(sortHosts(hosts, "cpu_usage_pct", "asc").map((x) => x.host)).toEqual(["b", "d", "a", "c"]);
  });
  it("sorts by name and last seen", () => {
    expect(sortHosts(hosts, "host", "asc").map((x) => x.host)).toEqual(["a", "b", "c", "d"]);
    expect(sortHosts(hosts, "last_seen", "desc").map((x) => x.host)).toEqual(["d", "c", "b", "a"]);
  });
});

describe("formatting", () => {
  it("tones meters", () => {
    expect(meterTone(null)).toBe("muted");
    expect(meterTone(74.9)).toBe("ok");
    expect(meterTone(75)).toBe("warn");
    expect(meterTone(90)).toBe("bad");
  });
  it("formats percents, loads and OQL strings", () => {
    expect(formatPct(12.345)).toBe("12.3%");
    expect(formatPct(null)).toBe("–");
    expect(formatLoad(1.5)).toBe("1.50");
    expect(oqlString("it's")).toBe("'it''s'");
  });
});

describe("metricSeries", () => {
  it("keeps buckets with data and breaks lines at long gaps", () => {
    const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 10, 0, s)).toISOString();
    const rows = [
      { t: t(30), cpu_usage_pct: 2 },
      { t: t(0), cpu_usage_pct: 1 },
      { t: t(60), cpu_usage_pct: 3 },
      { t: t(90), cpu_usage_pct: null },
      // 5 minutes of silence
      { t: new Date(Date.UTC(2026, 0, 1, 10, 6, 30)).toISOString(), cpu_usage_pct: 9 },
    ];
    const s = metricSeries(rows, ["cpu_usage_pct"], 15);
    const base = Date.UTC(2026, 0, 1, 10, 0, 0) / 1000;
    expect(s.x).toEqual([base, base + 30, base + 60, base + 90, base + 105, base + 390]);
    expect(s.series.cpu_usage_pct).toEqual([1, 2, 3, null, null, 9]);
    expect(lastValue(s.series.cpu_usage_pct)).toBe(9);
    expect(lastValue([1, null])).toBe(1);
    expect(lastValue([])).toBeNull();
  });
  it("builds the per-host series query", () => {
    expect(hostSeriesQuery(["cpu_usage_pct", "disk_used_pct"], "30s")).toBe(
      "SELECT bucket(30s) AS t, avg(cpu_usage_pct) AS cpu_usage_pct, max(disk_used_pct) AS disk_used_pct FROM host WHERE host = $host GROUP BY t ORDER BY t",
    );
  });
});

describe("stripHosts", () => {
  const h = (host: string, cpu: number, disk: number | null = null): HostLatest => ({ host, lastSeen: 0, values: { cpu_usage_pct: cpu, disk_used_pct: disk } });
  it("shows every host by name when they fit", () => {
    const out = stripHosts([h("b", 90), h("a", 10)], 3);
    expect(out.shown.map((x) => x.host)).toEqual(["a", "b"]);
    expect(out.hidden).toBe(0);
  });
  it("keeps the hosts closest to trouble when they do not", () => {
    const out = stripHosts([h("a", 10), h("b", 20, 95), h("c", 80), h("d", 5)], 2);
    expect(out.shown.map((x) => x.host)).toEqual(["b", "c"]);
    expect(out.hidden).toBe(2);
  });
});
