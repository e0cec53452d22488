"""DuckDB side of `cargo bench -p hexcovery --bench compare`: a line protocol on stdin/stdout.

The Rust bench starts `python3 bench/duckdb_compare.py` and sends one JSON command per line;
each answer is one JSON line:

  {"op": "check"}                                  -> {"ok": true, "version": "..."}
  {"op": "rewrite", "raw": p, "out": q}            -> {"ok": true, "rows": n, "bytes": b}
      COPY (SELECT * FROM read_parquet(p)) TO q (FORMAT parquet, COMPRESSION zstd)
  {"op": "open", "tables": {"logs": q, ...}, "threads": 2}
                                                   -> {"ok": true}  (a view per table)
  {"op": "run", "sql": s, "runs": n}               -> {"ok": true, "ms": [...], "rows": [...]}
      one warm-up, then n timed runs of execute + fetchall; the rows are the warm-up's,
      timestamps as epoch nanoseconds, decimals as floats, maps as objects.

If `import duckdb` fails, the first answer says so and the process exits with status 3.
"""

import datetime
import decimal
import json
import os
import sys
import time

try:
    import duckdb
except ImportError as error:  # pragma: no cover - depends on the machine
    print(json.dumps({"ok": False, "error": f"import duckdb failed: {error}"}), flush=True)
    sys.exit(3)

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def plain(value):
    """A JSON-friendly form of one DuckDB value."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return (value - EPOCH) // datetime.timedelta(microseconds=1) * 1000
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    return value


def main():
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for line in sys.stdin:
        if not line.strip():
            continue
        command = json.loads(line)
        op = command["op"]
        try:
            if op == "check":
                answer = {"ok": True, "version": duckdb.__version__}
            elif op == "rewrite":
                raw, out = command["raw"], command["out"]
                con.execute(
                    f"COPY (SELECT * FROM read_parquet('{raw}')) TO '{out}' "
                    "(FORMAT parquet, COMPRESSION zstd)"
                )
                rows = con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchone()[0]
                answer = {"ok": True, "rows": rows, "bytes": os.path.getsize(out)}
            elif op == "open":
                con.execute(f"SET threads = {int(command.get('threads', 2))}")
                for name, path in command["tables"].items():
                    con.execute(
                        f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet('{path}')"
                    )
                answer = {"ok": True}
            elif op == "run":
                sql, runs = command["sql"], int(command.get("runs", 5))
                rows = con.execute(sql).fetchall()
                times = []
                for _ in range(runs):
                    started = time.perf_counter()
                    con.execute(sql).fetchall()
                    times.append((time.perf_counter() - started) * 1e3)
                answer = {"ok": True, "ms": times, "rows": [plain(list(r)) for r in rows]}
            else:
                answer = {"ok": False, "error": f"unknown op {op}"}
        except Exception as error:  # answered, so the bench can say which query failed
            answer = {"ok": False, "error": f"{type(error).__name__}: {error}"}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
