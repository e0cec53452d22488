// The data every browser test sees, sent the way clients send it: an org signed up over
// the API, an API key, and logs, traces and host metrics over OTLP/HTTP JSON. Generated
// from a fixed seed relative to the start time, so the tests can name what they expect.

export interface Account {
  email: string;
  password: string;
  name: string;
  orgName: string;
  orgSlug: string;
  apiKey: string;
}

export interface Seed {
  baseURL: string;
  otlpHttp: string;
  logFile: string;
  /** Epoch ms the data was generated around. */
  now: number;
  admin: Account;
  /** A second org holding the 10 000-row and 10 000-span data of the speed tests. */
  bulk: Account;
  knownTraceId: string;
  knownTraceSpans: number;
  bulkTraceId: string;
  logCount: number;
  services: string[];
  hosts: string[];
}

/** A small deterministic PRNG (mulberry32). */
export function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex = (r: () => number, bytes: number) => Array.from({ length: bytes }, () => Math.floor(r() * 256).toString(16).padStart(2, "0")).join("");
const ns = (ms: number) => `${BigInt(Math.round(ms)) * 1_000_000n}`;
const attr = (key: string, value: string | number | boolean) => ({
  key,
  value: typeof value === "string" ? { stringValue: value } : typeof value === "boolean" ? { boolValue: value } : Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value },
});
const resource = (service: string, host: string) => ({ attributes: [attr("service.name", service), attr("host.name", host)] });

async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${url} answered ${res.status}: ${text}`);
  return text ? JSON.parse(text) : undefined;
}

export async function signUpWithKey(baseURL: string, a: Omit<Account, "apiKey">): Promise<Account> {
  const session = await postJson(`${baseURL}/api/v1/auth/signup`, { org_name: a.orgName, org_slug: a.orgSlug, email: a.email, password: a.password, name: a.name });
  const key = await postJson(`${baseURL}/api/v1/api-keys`, { name: "e2e ingest" }, { Authorization: `Bearer ${session.access_token}` });
  return { ...a, apiKey: key.key };
}

export const SERVICES = ["frontend", "checkout", "payments"];
export const HOSTS = ["web-1", "web-2", "db-1"];
const LEVELS: [string, number, number][] = [
  ["info", 9, 0.7],
  ["debug", 5, 0.12],
  ["warn", 13, 0.1],
  ["error", 17, 0.08],
];
const ROUTES = ["/cart", "/checkout", "/pay", "/search"];

function level(r: () => number): [string, number] {
  let x = r();
  for (const [name, sev, p] of LEVELS) {
    if ((x -= p) < 0) return [name, sev];
  }
  return ["info", 9];
}

/** 600 logs over the last 50 minutes across services and hosts; a few JSON bodies. */
function logs(now: number, r: () => number, count: number, knownTrace: string, knownSpans: string[]) {
  const byResource = new Map<string, unknown[]>();
  for (let i = 0; i < count; i++) {
    const service = SERVICES[i % SERVICES.length];
    const host = HOSTS[Math.floor(r() * HOSTS.length)];
    const [lvl, sev] = level(r);
    const route = ROUTES[Math.floor(r() * ROUTES.length)];
    const t = now - 50 * 60e3 + (i / count) * 49 * 60e3;
    const json = i % 10 === 0;
    const body = json ? JSON.stringify({ msg: `request ${route} done`, status: lvl === "error" ? 500 : 200, user: `u${i % 7}` }) : `${lvl} handling ${route} for user u${i % 7} (request ${i})`;
    const record: Record<string, unknown> = {
      timeUnixNano: ns(t),
      severityNumber: sev,
      severityText: lvl.toUpperCase(),
      body: { stringValue: body },
      attributes: [attr("http.route", route), attr("user.id", `u${i % 7}`)],
    };
    if (i < knownSpans.length) {
      record.traceId = knownTrace;
      record.spanId = knownSpans[i];
    }
    const key = `${service}|${host}`;
    byResource.set(key, [...(byResource.get(key) ?? []), record]);
  }
  return {
    resourceLogs: [...byResource.entries()].map(([key, records]) => {
      const [service, host] = key.split("|");
      return { resource: resource(service, host), scopeLogs: [{ logRecords: records }] };
    }),
  };
}

interface SpanDef {
  service: string;
  host: string;
  span: Record<string, unknown>;
}

function otlpSpans(defs: SpanDef[]) {
  const byResource = new Map<string, unknown[]>();
  for (const d of defs) {
    const key = `${d.service}|${d.host}`;
    byResource.set(key, [...(byResource.get(key) ?? []), d.span]);
  }
  return {
    resourceSpans: [...byResource.entries()].map(([key, spans]) => {
      const [service, host] = key.split("|");
      return { resource: resource(service, host), scopeSpans: [{ spans }] };
    }),
  };
}

/** The known trace: frontend GET /checkout → checkout → payments (which fails), 12 spans. */
function knownTrace(now: number, traceId: string, r: () => number): { defs: SpanDef[]; spanIds: string[] } {
  const t0 = now - 20 * 60e3;
  const ids = Array.from({ length: 12 }, () => hex(r, 8));
  const mk = (i: number, parent: number | null, service: string, name: string, start: number, dur: number, error = false, kind = 2): SpanDef => ({
    service,
    host: service === "payments" ? "db-1" : "web-1",
    span: {
      traceId,
      spanId: ids[i],
      ...(parent === null ? {} : { parentSpanId: ids[parent] }),
      name,
      kind,
      startTimeUnixNano: ns(t0 + start),
      endTimeUnixNano: ns(t0 + start + dur),
      attributes: [attr("http.route", "/checkout"), attr("span.index", i)],
      status: error ? { code: 2, message: "card declined" } : { code: 1 },
      events: error ? [{ timeUnixNano: ns(t0 + start + dur - 1), name: "exception", attributes: [attr("exception.message", "card declined")] }] : [],
    },
  });
  const defs = [
    mk(0, null, "frontend", "GET /checkout", 0, 480),
    mk(1, 0, "frontend", "render cart", 5, 40, false, 1),
    mk(2, 0, "checkout", "POST /api/checkout", 50, 420, false, 2),
    mk(3, 2, "checkout", "load cart", 60, 30, false, 3),
    mk(4, 2, "checkout", "reserve stock", 95, 80, false, 3),
    mk(5, 4, "checkout", "SELECT stock", 100, 60, false, 3),
    mk(6, 2, "payments", "POST /api/charge", 180, 280, true, 2),
    mk(7, 6, "payments", "fraud check", 190, 70, false, 1),
    mk(8, 6, "payments", "call card network", 265, 190, true, 3),
    mk(9, 8, "payments", "tls handshake", 270, 25, false, 1),
    mk(10, 2, "checkout", "emit order event", 465, 4, false, 4),
    mk(11, 0, "frontend", "track analytics", 475, 3, false, 3),
  ];
  return { defs, spanIds: ids };
}

/** Background traces: 60 traces of 2–4 spans over the last 50 minutes, ~10% failing. */
function backgroundTraces(now: number, r: () => number): SpanDef[] {
  const defs: SpanDef[] = [];
  for (let i = 0; i < 60; i++) {
    const traceId = hex(r, 16);
    const t0 = now - 50 * 60e3 + i * 48e3;
    const rootId = hex(r, 8);
    const dur = 20 + Math.floor(r() * 400);
    const error = r() < 0.1;
    const service = SERVICES[i % 3];
    defs.push({
      service,
      host: HOSTS[i % 3],
      span: { traceId, spanId: rootId, name: `GET ${ROUTES[i % 4]}`, kind: 2, startTimeUnixNano: ns(t0), endTimeUnixNano: ns(t0 + dur), status: error ? { code: 2, message: "upstream failed" } : { code: 0 }, attributes: [attr("http.route", ROUTES[i % 4])] },
    });
    const children = 1 + Math.floor(r() * 3);
    for (let c = 0; c < children; c++) {
      const cs = t0 + 2 + c * (dur / (children + 1));
      defs.push({
        service: SERVICES[(i + c + 1) % 3],
        host: HOSTS[(i + c) % 3],
        span: { traceId, spanId: hex(r, 8), parentSpanId: rootId, name: `child ${c}`, kind: 3, startTimeUnixNano: ns(cs), endTimeUnixNano: ns(cs + dur / (children + 2)), status: { code: 0 } },
      });
    }
  }
  return defs;
}

/** Host metrics as the agent names them, every 30 s for the last hour. */
function hostMetrics(now: number, r: () => number) {
  return {
    resourceMetrics: HOSTS.map((host, h) => {
      const points = (base: number, spread: number) =>
        Array.from({ length: 120 }, (_, i) => ({ timeUnixNano: ns(now - 60 * 60e3 + i * 30e3), asDouble: Math.max(0, Math.min(100, base + Math.sin(i / 9 + h) * spread + r() * 3)) }));
      const gauge = (name: string, unit: string, base: number, spread: number, attributes: unknown[] = []) => ({
        name,
        unit,
        gauge: { dataPoints: points(base, spread).map((p) => ({ ...p, attributes })) },
      });
      return {
        resource: { attributes: [attr("host.name", host), attr("service.name", "hexcovery-agent"), attr("os.type", "linux")] },
        scopeMetrics: [
          {
            metrics: [
              gauge("host.cpu_usage_pct", "%", 20 + h * 25, 12),
              gauge("host.mem_used_pct", "%", 40 + h * 10, 5),
              gauge("host.disk_used_pct", "%", 55 + h * 8, 1, [attr("mountpoint", "/")]),
              gauge("host.load_1m", "1", 0.5 + h, 0.4),
            ],
          },
        ],
      };
    }),
  };
}

/** The speed-test data: 10 000 logs in the last 10 minutes and one 10 000-span trace. */
function bulk(now: number, r: () => number, traceId: string) {
  const records = Array.from({ length: 10_000 }, (_, i) => ({
    timeUnixNano: ns(now - 10 * 60e3 + i * 55),
    severityNumber: i % 20 === 0 ? 17 : 9,
    severityText: i % 20 === 0 ? "ERROR" : "INFO",
    body: { stringValue: `bulk line ${i} ${"lorem ipsum dolor sit amet ".repeat(1 + (i % 4))}` },
    attributes: [attr("i", i)],
  }));
  const logsBody = { resourceLogs: [{ resource: resource("bulk", "bulk-1"), scopeLogs: [{ logRecords: records }] }] };
  const t0 = now - 5 * 60e3;
  const ids = Array.from({ length: 10_000 }, () => hex(r, 8));
  const spans = ids.map((id, i) => {
    // A tree of fan-out 10: span i's parent is floor((i-1)/10).
    const parent = i === 0 ? null : Math.floor((i - 1) / 10);
    const depth = i === 0 ? 0 : Math.floor(Math.log10(i * 9 + 1));
    const start = t0 + i * 0.5 + depth;
    return {
      service: SERVICES[i % 3],
      host: "bulk-1",
      span: { traceId, spanId: id, ...(parent === null ? {} : { parentSpanId: ids[parent] }), name: `op ${i % 50}`, kind: 1, startTimeUnixNano: ns(start), endTimeUnixNano: ns(i === 0 ? t0 + 10_000 : start + 2 + (i % 7)), status: { code: i % 97 === 0 ? 2 : 0 } },
    };
  });
  return { logsBody, spans };
}

export async function seed(baseURL: string, otlpHttp: string, logFile: string): Promise<Seed> {
  const now = Date.now();
  const r = rng(42);
  const admin = await signUpWithKey(baseURL, { email: "ada@acme.test", password: "correct horse battery", name: "Ada Admin", orgName: "Acme", orgSlug: "acme" });
  const bulkAccount = await signUpWithKey(baseURL, { email: "bo@bulk.test", password: "correct horse battery", name: "Bo Bulk", orgName: "Bulk Co", orgSlug: "bulk" });
  const send = (account: Account, signal: string, body: unknown) => postJson(`${otlpHttp}/v1/${signal}`, body, { "x-api-key": account.apiKey });

  const knownTraceId = hex(r, 16);
  const known = knownTrace(now, knownTraceId, r);
  const logCount = 600;
  await send(admin, "logs", logs(now, r, logCount, knownTraceId, known.spanIds));
  await send(admin, "traces", otlpSpans([...known.defs, ...backgroundTraces(now, r)]));
  await send(admin, "metrics", hostMetrics(now, r));

  const bulkTraceId = hex(r, 16);
  const b = bulk(now, r, bulkTraceId);
  await send(bulkAccount, "logs", b.logsBody);
  for (let i = 0; i < b.spans.length; i += 2500) await send(bulkAccount, "traces", otlpSpans(b.spans.slice(i, i + 2500)));

  return {
    baseURL,
    otlpHttp,
    logFile,
    now,
    admin,
    bulk: bulkAccount,
    knownTraceId,
    knownTraceSpans: known.defs.length,
    bulkTraceId,
    logCount,
    services: SERVICES,
    hosts: HOSTS,
  };
}
