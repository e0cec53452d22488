// Settings › Password and 2FA: change your password; set up TOTP two-factor sign-in with a
// QR code drawn here (no remote service sees the secret), turn it on with a code, keep the
// recovery codes shown once, turn it off, or replace the recovery codes.
import { useEffect, useMemo, useState } from "preact/hooks";
import { CopyButton, ErrorNote, Field } from "../../components/ui";
import { ApiError, get, post } from "../../lib/api";
import { currentUser } from "../../lib/session";
import { Done, SectionHead, useAction } from "./common";
import { qrShape } from "./qr";

function PasswordCard() {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const [done, setDone] = useState(false);
  const change = useAction(async () => {
    if (next !== again) throw new Error("The new passwords do not match.");
    if (next.length < 12) throw new Error("The new password must be at least 12 characters long.");
    await post("/api/v1/auth/password", { current_password: current, new_password: next });
    setCurrent("");
    setNext("");
    setAgain("");
    setDone(true);
  });
  return (
    <section class="card" aria-label="Change password">
      <h3>Password</h3>
      <form
        class="narrow-form"
        onSubmit={(e) => {
          e.preventDefault();
          setDone(false);
          void change.run();
        }}
      >
        <Field label="Current password" type="password" required autocomplete="current-password" value={current} onInput={(e) => setCurrent(e.currentTarget.value)} />
        <Field label="New password" type="password" required minLength={12} autocomplete="new-password" hint="At least 12 characters; a long phrase is best." value={next} onInput={(e) => setNext(e.currentTarget.value)} />
        <Field label="Repeat new password" type="password" required autocomplete="new-password" value={again} onInput={(e) => setAgain(e.currentTarget.value)} />
        <ErrorNote error={change.error} />
        <div class="form-actions">
          <button class="btn primary" type="submit" disabled={change.busy}>
            Change password
          </button>
          <Done>{done && "Password changed. Your other sessions were signed out."}</Done>
        </div>
      </form>
    </section>
  );
}

/** A QR code as SVG elements (no injected markup, no inline styles). */
export function QrCode({ text, label }: { text: string; label: string }) {
  const shape = useMemo(() => qrShape(text), [text]);
  return (
    <svg class="qr" role="img" aria-label={label} viewBox={`0 0 ${shape.size} ${shape.size}`} width={208} height={208} shape-rendering="crispEdges">
      <title>{label}</title>
      <rect width={shape.size} height={shape.size} fill="#ffffff" />
      <path d={shape.path} fill="#000000" />
    </svg>
  );
}

function RecoveryCodes({ codes, onClose }: { codes: string[]; onClose: () => void }) {
  return (
    <section class="secret-box" aria-label="Recovery codes">
      <p>
        <strong>Your recovery codes.</strong> <span class="warn-text">Save them now: they won't be shown again.</span> Each one signs you in once if you lose your
        authenticator.
      </p>
      <ul class="codes">
        {codes.map((c) => (
          <li>
            <code>{c}</code>
          </li>
        ))}
      </ul>
      <div class="form-actions">
        <CopyButton text={codes.join("\n")} label="Copy codes" />
        <button type="button" class="btn" onClick={onClose}>
          I have saved them
        </button>
      </div>
    </section>
  );
}

type Status = "on" | "off" | "unknown";

function setKnownStatus(on: boolean) {
  if (currentUser.value) currentUser.value = { ...currentUser.value, totp_enabled: on };
}

function SetupFlow({ onEnabled, onAlreadyOn, onStage }: { onEnabled: (codes: string[]) => void; onAlreadyOn: () => void; onStage: (started: boolean) => void }) {
  const [setup, setSetupState] = useState<{ secret: string; otpauth_uri: string } | null>(null);
  const setSetup = (s: { secret: string; otpauth_uri: string } | null) => {
    setSetupState(s);
    onStage(s !== null);
  };
  const [code, setCode] = useState("");
  const [password, setPassword] = useState("");
  const start = useAction(async () => {
    try {
      setSetup(await post<{ secret: string; otpauth_uri: string }>("/api/v1/auth/totp/setup"));
    } catch (e) {
      if (e instanceof ApiError && e.code === "totp_already_enabled") onAlreadyOn();
      else throw e;
    }
  });
  const enable = useAction(async () => {
    const answer = await post<{ recovery_codes: string[] }>("/api/v1/auth/totp/enable", { code: code.replace(/\s+/g, ""), password });
    setCode("");
    setPassword("");
    onEnabled(answer.recovery_codes);
  });
  return (
    <section class="twofa-step" aria-label="Set up two-factor authentication">
      {!setup ? (
        <>
          <p>Sign-in will ask for a 6-digit code from an authenticator app (1Password, Google Authenticator, Aegis…) after your password.</p>
          <ErrorNote error={start.error} />
          <button type="button" class="btn primary" disabled={start.busy} onClick={() => void start.run()}>
            Set up two-factor authentication
          </button>
        </>
      ) : (
        <div class="twofa-setup">
          <QrCode text={setup.otpauth_uri} label="QR code for your authenticator app" />
          <div class="stack">
            <p>
              <strong>1.</strong> Scan the QR code with your authenticator app, or type this secret into it:
            </p>
            <div class="secret-line">
              <code data-copy={setup.secret} aria-label="Secret">
                {setup.secret.replace(/(.{4})/g, "$1 ").trim()}
              </code>
              <CopyButton text={setup.secret} label="Copy secret" />
            </div>
            <form
              onSubmit={(e) => {
                e.preventDefault();
                void enable.run();
              }}
            >
              <p>
                <strong>2.</strong> Enter the code the app shows, and your password, to turn two-factor authentication on.
              </p>
              <div class="row">
                <Field label="Code" required inputMode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" maxLength={7} placeholder="123456" value={code} onInput={(e) => setCode(e.currentTarget.value)} />
                <Field label="Password" type="password" required autocomplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
                <div class="field row-buttons">
                  <button class="btn primary" type="submit" disabled={enable.busy}>
                    Turn on
                  </button>
                </div>
              </div>
              <ErrorNote error={enable.error} />
            </form>
            <button type="button" class="link" onClick={() => setSetup(null)}>
              Cancel setup
            </button>
          </div>
        </div>
      )}
    </section>
  );
}

function TurnOff({ onOff }: { onOff: () => void }) {
  const [code, setCode] = useState("");
  const [password, setPassword] = useState("");
  const off = useAction(async () => {
    await post("/api/v1/auth/totp/disable", { code: code.trim(), password });
    onOff();
  });
  return (
    <form
      class="twofa-step"
      aria-label="Turn off two-factor authentication"
      onSubmit={(e) => {
        e.preventDefault();
        void off.run();
      }}
    >
      <h4>Turn off</h4>
      <div class="row">
        <Field label="Code" required autocomplete="one-time-code" hint="From your app, or a recovery code." value={code} onInput={(e) => setCode(e.currentTarget.value)} />
        <Field label="Password" type="password" required autocomplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        <div class="field row-buttons">
          <button class="btn danger" type="submit" disabled={off.busy}>
            Turn off 2FA
          </button>
        </div>
      </div>
      <ErrorNote error={off.error} />
    </form>
  );
}

function Regenerate({ onCodes }: { onCodes: (codes: string[]) => void }) {
  const [code, setCode] = useState("");
  const regen = useAction(async () => {
    const answer = await post<{ recovery_codes: string[] }>("/api/v1/auth/totp/recovery-codes", { code: code.trim() });
    setCode("");
    onCodes(answer.recovery_codes);
  });
  return (
    <form
      class="twofa-step"
      aria-label="New recovery codes"
      onSubmit={(e) => {
        e.preventDefault();
        void regen.run();
      }}
    >
      <h4>New recovery codes</h4>
      <p class="muted">Replaces every unused recovery code with ten new ones.</p>
      <div class="row">
        <Field label="Code" required autocomplete="one-time-code" hint="From your app, or a recovery code." value={code} onInput={(e) => setCode(e.currentTarget.value)} />
        <div class="field row-buttons">
          <button class="btn" type="submit" disabled={regen.busy}>
            Generate new codes
          </button>
        </div>
      </div>
      <ErrorNote error={regen.error} />
    </form>
  );
}

function TwoFactorCard() {
  const known = currentUser.value?.totp_enabled;
  const [status, setStatus] = useState<Status>(known === undefined ? "unknown" : known ? "on" : "off");
  const [codes, setCodes] = useState<string[] | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [settingUp, setSettingUp] = useState(false);
  // `/api/v1/me` says whether 2FA is on; until it answers the card offers both flows.
  useEffect(() => {
    let live = true;
    get<{ totp_enabled?: boolean }>("/api/v1/me").then(
      (me) => {
        if (!live || typeof me.totp_enabled !== "boolean") return;
        setKnownStatus(me.totp_enabled);
        setStatus((s) => (s === "unknown" ? (me.totp_enabled ? "on" : "off") : s));
      },
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, []);
  const on = () => {
    setStatus("on");
    setKnownStatus(true);
  };
  return (
    <section class="card" aria-label="Two-factor authentication">
      <header class="card-head">
        <h3 class="flush">Two-factor authentication</h3>
        {status !== "unknown" && <span class={`badge ${status === "on" ? "ok" : "muted"}`}>{status === "on" ? "On" : "Off"}</span>}
      </header>
      {note && <Done>{note}</Done>}
      {codes && <RecoveryCodes codes={codes} onClose={() => setCodes(null)} />}
      {status !== "on" && (
        <SetupFlow
          onStage={setSettingUp}
          onEnabled={(c) => {
            on();
            setCodes(c);
            setNote("Two-factor authentication is on. Sign-in now asks for a code.");
          }}
          onAlreadyOn={() => {
            on();
            setNote("Two-factor authentication is already on for your account.");
          }}
        />
      )}
      {status === "on" && (
        <>
          <Regenerate onCodes={setCodes} />
          <TurnOff
            onOff={() => {
              setStatus("off");
              setKnownStatus(false);
              setCodes(null);
              setNote("Two-factor authentication is off.");
            }}
          />
        </>
      )}
      {status === "unknown" && !settingUp && (
        <details class="twofa-more">
          <summary>Already turned on? Get new recovery codes or turn it off</summary>
          <Regenerate onCodes={setCodes} />
          <TurnOff
            onOff={() => {
              setStatus("off");
              setKnownStatus(false);
              setNote("Two-factor authentication is off.");
            }}
          />
        </details>
      )}
    </section>
  );
}

export function SecuritySection() {
  return (
    <div class="stack">
      <SectionHead title="Password and 2FA" intro={`Signed in as ${currentUser.value?.email ?? ""}.`} />
      <div class="security-grid">
        <PasswordCard />
        <TwoFactorCard />
      </div>
    </div>
  );
}
