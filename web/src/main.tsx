// Entry point: applies the theme, restores the session from the refresh cookie, and
// mounts the dashboard.
import { render } from "preact";
import { App } from "./app";
import { restoreSession } from "./lib/session";
import { applyTheme } from "./lib/theme";
import "./styles.css";

applyTheme();
void restoreSession();
render(<App />, document.getElementById("app")!);
