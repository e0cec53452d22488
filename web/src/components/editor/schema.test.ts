// Unit tests of the schema helpers completion uses: promoted keys from DESCRIBE's rows and
// key counts from sampled rows.
import { describe, expect, it } from "vitest";
import { countKeys, promotedColumn, promotedKeys, type ColumnInfo } from "./schema";

const column = (name: string, type = "string"): ColumnInfo => ({ name, type, metric: null });

describe("promotedKeys", () => {
  it("takes the keys of one map from the promoted columns DESCRIBE lists", () => {
    const columns = [column("timestamp", "timestamp"), column("attributes", "map"), column("attributes['http.route']"), column("attributes['user.id']"), column("resource['k8s.namespace.name']")];
    expect(promotedKeys(columns, "attributes")).toEqual(["http.route", "user.id"]);
    expect(promotedKeys(columns, "resource")).toEqual(["k8s.namespace.name"]);
  });
  it("reads the map and key of a promoted column, and nothing else", () => {
    expect(promotedColumn("attributes['it's']")).toEqual({ map: "attributes", key: "it's" });
    expect(promotedColumn("attributes")).toBeNull();
    expect(promotedColumn("body['x']")).toBeNull();
  });
  it("finds none in a table without promoted columns", () => {
    expect(promotedKeys([column("service"), column("attributes", "map")], "attributes")).toEqual([]);
  });
});

describe("countKeys", () => {
  it("counts each key once per row, most frequent first", () => {
    expect(countKeys([{ a: "1", b: "2" }, { a: "3" }, null])).toEqual([
      { key: "a", rows: 2 },
      { key: "b", rows: 1 },
    ]);
  });
});
