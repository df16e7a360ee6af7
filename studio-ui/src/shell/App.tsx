// The shell: top bar (workspace switcher, settings, demo pill), navigation and the screens.
import { lazy, Suspense, useEffect, useRef, useState } from "react";
import { Link, Redirect, Route, Switch, useLocation, useSearch } from "wouter";
import { config, errorText } from "../api/client";
import { Banner, Loading } from "../components/ui";
import { isActive, navEntries } from "./nav";
import { SettingsDialog } from "./SettingsDialog";
import { useStudio } from "./studio";

import Approvals from "../screens/Approvals";
import Connect from "../screens/Connect";
import Evals from "../screens/Evals";
import Overview from "../screens/Overview";
import RunDetail from "../screens/RunDetail";
import Runs from "../screens/Runs";
import Tests from "../screens/Tests";

// The Playground carries the Markdown, highlighting and sanitising libraries: loaded on its
// own, and fetched in the background once the first screen is up.
const loadPlayground = () => import("../chat/Playground");
const Playground = lazy(loadPlayground);

function Nav({ open, onNavigate }: { open: boolean; onNavigate: () => void }) {
  const { capabilities, capabilitiesFailed } = useStudio();
  const [path] = useLocation();
  return (
    <nav id="nav" className={open ? "open" : ""} aria-label="Studio">
      <ul>
        {navEntries(capabilities, capabilitiesFailed).map((item) => (
          <li key={item.path}>
            {item.enabled ? (
              <Link href={item.path} aria-current={isActive(item, path) ? "page" : undefined} onClick={onNavigate}>
                {item.label}
              </Link>
            ) : (
              <span className="nav-disabled" aria-disabled="true" title={item.reason}>
                {item.label}
                <span className="visually-hidden"> (unavailable: {item.reason})</span>
              </span>
            )}
          </li>
        ))}
      </ul>
    </nav>
  );
}

function RuntimeNote() {
  const { capabilities, capabilitiesFailed } = useStudio();
  if (capabilitiesFailed) {
    return (
      <span className="status-note warn" role="status">
        Capabilities unavailable: default navigation
      </span>
    );
  }
  if (!capabilities) return <span className="status-note" role="status">Connecting…</span>;
  const enabled = capabilities.filter((c) => c.enabled).length;
  return (
    <span className="status-note" role="status">
      {enabled} capabilities
    </span>
  );
}

/** Where to go when the workspace changes: the screen's root (a thread or run id belongs to one workspace). */
function sectionRoot(path: string): string {
  const first = path.split("/")[1] || "workspace";
  return first === "chat" ? "/playground" : `/${first}`;
}

export function App() {
  const studio = useStudio();
  const [path, navigate] = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  const [settingsOpen, setSettingsOpen] = useState(false);
  const main = useRef<HTMLElement>(null);

  useEffect(() => {
    const idle = window.requestIdleCallback ?? ((fn: () => void) => window.setTimeout(fn, 500));
    idle(() => void loadPlayground());
  }, []);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement;
      const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName) || target.isContentEditable;
      if (event.key === "Escape") setMenuOpen(false);
      if (event.key === "," && !typing && !event.ctrlKey && !event.metaKey) {
        event.preventDefault();
        setSettingsOpen(true);
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);

  const switchWorkspace = (key: string) => {
    studio.setWorkspace(key);
    navigate(sectionRoot(path));
  };

  return (
    <div className={`app${studio.settings.demo ? " demo" : ""}`}>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <button type="button" className="ghost menu-button" aria-label="Menu" aria-expanded={menuOpen} aria-controls="nav" onClick={() => setMenuOpen(!menuOpen)}>
          ☰
        </button>
        <span className="brand">{config.appName}</span>
        <label className="ws-switch">
          <span className="visually-hidden">Workspace</span>
          <select aria-label="Workspace" value={studio.workspace} onChange={(e) => switchWorkspace(e.target.value)}>
            {studio.workspaces.map((w) => (
              <option key={w.workspaceKey} value={w.workspaceKey}>
                {w.displayName || w.workspaceKey}
              </option>
            ))}
          </select>
        </label>
        <RuntimeNote />
        {studio.settings.demo ? (
          <button type="button" className="demo-pill" onClick={() => studio.updateSettings({ demo: false })}>
            Demo mode on · turn off
          </button>
        ) : null}
        <button type="button" className="ghost" aria-haspopup="dialog" onClick={() => setSettingsOpen(true)}>
          Settings
        </button>
      </header>
      <div className="layout">
        <Nav open={menuOpen} onNavigate={() => setMenuOpen(false)} />
        <main id="main" ref={main} tabIndex={-1}>
          {studio.bootError ? <Banner>{errorText(studio.bootError)}</Banner> : null}
          <Suspense fallback={<Loading what="screen" />}>
            <Routes />
          </Suspense>
        </main>
      </div>
      {settingsOpen ? <SettingsDialog onClose={() => setSettingsOpen(false)} /> : null}
    </div>
  );
}

function RunsOrInbox() {
  const search = useSearch();
  return new URLSearchParams(search).get("tab") === "approvals" ? <Approvals /> : <Runs />;
}

function Routes() {
  return (
    <Switch>
      <Route path="/">
        <Redirect to="/workspace" replace />
      </Route>
      <Route path="/workspace" component={Overview} />
      <Route path="/playground/:threadId?">{(p) => <Playground threadId={p.threadId ?? null} />}</Route>
      <Route path="/chat/:threadId?">{(p) => <Playground threadId={p.threadId ?? null} />}</Route>
      <Route path="/approvals" component={Approvals} />
      <Route path="/runs" component={RunsOrInbox} />
      <Route path="/runs/:runId">{(p) => <RunDetail runId={p.runId} />}</Route>
      <Route path="/tests/*?" component={Tests} />
      <Route path="/evals/*?" component={Evals} />
      <Route path="/connect/*?" component={Connect} />
      <Route>
        <NotFound />
      </Route>
    </Switch>
  );
}

function NotFound() {
  const [path] = useLocation();
  useEffect(() => {
    document.title = "Not found";
  }, []);
  return (
    <section>
      <h1>Page not found</h1>
      <p className="muted">Nothing lives at {path}.</p>
      <Link href="/workspace">Back to the overview</Link>
    </section>
  );
}
