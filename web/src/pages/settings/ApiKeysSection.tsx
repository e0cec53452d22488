// Settings › API keys (admin): keys for ingest and the OQL API. A new key is shown once,
// with a copy button, and lives only in this component's memory (never in the URL or
// storage); the list shows name, prefix, author and last use; revoking asks first.
import { useState } from "preact/hooks";
import { CopyButton, Empty, ErrorNote, Field, Loading } from "../../components/ui";
import { del, get, post } from "../../lib/api";
import { useLoad } from "../../lib/hooks";
import { ConfirmButton, SectionHead, useAction, When } from "./common";

interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  created_at: string;
  created_by: { name: string };
  last_used_at: string | null;
}
interface CreatedKey extends ApiKey {
  key: string;
}

function NewKey({ created, onClose }: { created: CreatedKey; onClose: () => void }) {
  return (
    <section class="secret-box" aria-label="New API key">
      <p>
        <strong>API key “{created.name}” created.</strong>{" "}
        <span class="warn-text">Copy it now: it won't be shown again.</span> Only a hash of it is stored.
      </p>
      <div class="secret-line">
        <code data-copy={created.key}>{created.key}</code>
        <CopyButton text={created.key} />
      </div>
      <p class="muted">
        Send it in the <code>X-API-Key</code> header: OTLP/HTTP on port 4318 (<code>/v1/logs</code>, <code>/v1/traces</code>, <code>/v1/metrics</code>), OTLP/gRPC on 4317
        (metadata <code>x-api-key</code>), <code>POST /api/v1/dsl</code> for OQL and <code>/api/v1/heartbeat/&lt;name&gt;</code>.
      </p>
      <button type="button" class="btn small" onClick={onClose}>
        I have copied it
      </button>
    </section>
  );
}

export function ApiKeysSection() {
  const [created, setCreated] = useState<CreatedKey | null>(null);
  const [n, setN] = useState(0);
  const keys = useLoad((signal) => get<{ api_keys: ApiKey[] }>("/api/v1/api-keys?limit=1000", { signal }), [n]);
  const [name, setName] = useState("");
  const create = useAction(async () => {
    setCreated(await post<CreatedKey>("/api/v1/api-keys", { name: name.trim() }));
    setName("");
    setN((x) => x + 1);
  });
  const list = keys.data?.api_keys ?? [];
  return (
    <div class="stack">
      <SectionHead title="API keys" intro="Keys let collectors, SDKs and scripts send telemetry and run OQL as this organization." />
      <form
        class="card row"
        aria-label="Create an API key"
        onSubmit={(e) => {
          e.preventDefault();
          void create.run();
        }}
      >
        <Field label="Key name" required maxLength={100} placeholder="e.g. otel-collector prod" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <div class="field row-buttons">
          <button class="btn primary" type="submit" disabled={create.busy}>
            Create key
          </button>
        </div>
        <div class="full">
          <ErrorNote error={create.error} />
        </div>
      </form>
      {created && <NewKey created={created} onClose={() => setCreated(null)} />}
      <section class="card" aria-label="API keys">
        <ErrorNote error={keys.error} />
        {keys.loading && !keys.data && <Loading />}
        {keys.data && list.length === 0 && <Empty>No API keys. Create one above to start sending telemetry.</Empty>}
        {list.length > 0 && (
          <table class="table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Prefix</th>
                <th>Created by</th>
                <th>Created</th>
                <th>Last used</th>
                <th class="num">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.map((k) => (
                <tr key={k.id}>
                  <td>{k.name}</td>
                  <td>
                    <code>{k.prefix}…</code>
                  </td>
                  <td>{k.created_by.name}</td>
                  <td>
                    <When at={k.created_at} />
                  </td>
                  <td>
                    <When at={k.last_used_at} />
                  </td>
                  <td class="num">
                    <ConfirmButton
                      label="Revoke"
                      question={`Revoke “${k.name}”? Clients using it are refused from their next request.`}
                      confirmLabel="Revoke key"
                      onConfirm={async () => {
                        await del(`/api/v1/api-keys/${k.id}`);
                        if (created?.id === k.id) setCreated(null);
                        setN((x) => x + 1);
                      }}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
