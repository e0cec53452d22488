// Pretty JSON: a log body that parses as JSON is shown indented and coloured; anything
// else is shown as text.
export function tryParseJson(text: unknown): unknown {
  if (typeof text !== "string") return text;
  const t = text.trim();
  if (!(t.startsWith("{") || t.startsWith("["))) return undefined;
  try {
    return JSON.parse(t);
  } catch {
    return undefined;
  }
}

function render(value: unknown, indent: number): preact.ComponentChildren {
  const pad = "  ".repeat(indent);
  if (value === null) return <span class="j-null">null</span>;
  if (typeof value === "string") return <span class="j-str">{JSON.stringify(value)}</span>;
  if (typeof value === "number") return <span class="j-num">{value}</span>;
  if (typeof value === "boolean") return <span class="j-bool">{String(value)}</span>;
  if (Array.isArray(value)) {
    if (!value.length) return "[]";
    return (
      <>
        {"[\n"}
        {value.map((v, i) => (
          <>
            {pad + "  "}
            {render(v, indent + 1)}
            {i < value.length - 1 ? ",\n" : "\n"}
          </>
        ))}
        {pad + "]"}
      </>
    );
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (!entries.length) return "{}";
  return (
    <>
      {"{\n"}
      {entries.map(([k, v], i) => (
        <>
          {pad + "  "}
          <span class="j-key">{JSON.stringify(k)}</span>
          {": "}
          {render(v, indent + 1)}
          {i < entries.length - 1 ? ",\n" : "\n"}
        </>
      ))}
      {pad + "}"}
    </>
  );
}

export function JsonView({ value }: { value: unknown }) {
  return <pre class="json">{render(value, 0)}</pre>;
}
