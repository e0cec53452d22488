// Unit tests of the heartbeat schedule form: durations as the API writes them, the form of
// a monitor, and a PATCH body holding only what changed.
import { describe, expect, it } from "vitest";
import { type Monitor, describeSchedule, formOf, formatSecs, patchOf, pingCommand } from "./schedule";

const M: Monitor = {
  id: "m",
  name: "nightly-backup",
  schedule: "every 1h",
  timezone: "UTC",
  grace_secs: 300,
  max_runtime_secs: null,
  paused: false,
  state: "up",
  state_since: "",
  next_due: null,
  last_ping_at: null,
  last_success_at: null,
  last_fail_at: null,
  created_at: "",
  updated_at: "",
};

describe("heartbeat schedule form", () => {
  it("writes seconds in the largest whole unit", () => {
    expect([300, 90, 3600, 5400, 86400, 604800, 45].map(formatSecs)).toEqual(["5m", "90s", "1h", "90m", "1d", "1w", "45s"]);
  });
  it("reads every and cron schedules", () => {
    expect(formOf(M)).toEqual({ kind: "every", every: "1h", cron: "", timezone: "UTC", grace: "5m", maxRuntime: "" });
    expect(formOf({ ...M, schedule: "30 2 * * *", timezone: "Europe/Berlin", max_runtime_secs: 1200 })).toMatchObject({ kind: "cron", cron: "30 2 * * *", timezone: "Europe/Berlin", maxRuntime: "20m" });
  });
  it("sends only what changed", () => {
    const f = formOf(M);
    expect(patchOf(f, M)).toEqual({});
    expect(patchOf({ ...f, every: "5m", grace: "1m" }, M)).toEqual({ schedule: "every 5m", grace: "1m" });
    expect(patchOf({ ...f, kind: "cron", cron: "30  2 * * *", timezone: "Europe/Berlin" }, M)).toEqual({ schedule: "30 2 * * *", timezone: "Europe/Berlin" });
    expect(patchOf({ ...formOf({ ...M, max_runtime_secs: 60 }), maxRuntime: "" }, { ...M, max_runtime_secs: 60 })).toEqual({ max_runtime: null });
  });
  it("describes schedules and the ping command", () => {
    expect(describeSchedule(M)).toBe("every 1h");
    expect(describeSchedule({ schedule: "0 * * * *", timezone: "UTC" })).toBe("cron 0 * * * * (UTC)");
    expect(pingCommand("http://h:8080", "db-dump")).toBe("curl -X POST -H 'x-api-key: <your API key>' http://h:8080/api/v1/heartbeat/db-dump");
  });
});
