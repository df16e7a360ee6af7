// The shell: app name, workspace switcher, capability-driven nav, and settings.
import { config, get, setWorkspaceKey, workspaceKey, ws } from "./api.js";
import { h, mount } from "./dom.js";

const NAV = [
  { label: "Overview", path: "/workspace", needs: ["runtime.inspect"] },
  { label: "Playground", path: "/playground", needs: ["chat.stream"], also: ["/chat"] },
  { label: "Connect", path: "/connect", needs: ["data.sources", "data.profile", "knowledge.ingest", "tools.inspect"] },
  { label: "Tests", path: "/tests", needs: ["tests.manage"] },
  { label: "Evals", path: "/evals", needs: ["evals.run"] },
  { label: "Runs", path: "/runs", needs: ["runs.list", "traces.read"] },
];

/** Shared state of the shell: workspaces and the capabilities of the active one. */
export const shell = { workspaces: [], capabilities: null, capabilitiesFailed: false };

/** Is capability `id` enabled (true while capabilities are unknown)? */
export function capable(id) {
  if (!shell.capabilities) return true;
  const cap = shell.capabilities.find((c) => c.id === id);
  return Boolean(cap && cap.enabled);
}

function settingsKey() {
  return `flowai.settings.${workspaceKey()}`;
}

/** The settings saved for the active workspace. */
export function settings() {
  try {
    return { theme: "slate", latency: false, demo: false, ...JSON.parse(localStorage.getItem(settingsKey()) || "{}") };
  } catch {
    return { theme: "slate", latency: false, demo: false };
  }
}

function saveSettings(patch) {
  const next = { ...settings(), ...patch };
  try {
    localStorage.setItem(settingsKey(), JSON.stringify(next));
  } catch {
    /* storage unavailable */
  }
  applySettings();
}

function applySettings() {
  const s = settings();
  document.documentElement.dataset.theme = s.theme;
  document.body.classList.toggle("demo-mode", s.demo);
  document.getElementById("demo-pill").hidden = !s.demo;
  document.dispatchEvent(new CustomEvent("flowai:settings", { detail: s }));
}

/** Mask emails and long digit runs when demo mode is on. */
export function mask(text) {
  if (!settings().demo || typeof text !== "string") return text;
  return text.replace(/[\w.+-]+@[\w-]+\.[\w.]+/g, "•••@•••").replace(/\d{4,}/g, (m) => "•".repeat(m.length));
}

function navItem(item) {
  const known = shell.capabilities ? item.needs.map((id) => shell.capabilities.find((c) => c.id === id)).filter(Boolean) : null;
  if (known && !known.length) return null; // every capability unknown: hidden
  const enabled = !known || known.some((c) => c.enabled);
  if (!enabled) {
    const reason = known.map((c) => c.reason).find(Boolean) || "Not available in this workspace.";
    return h("span", { className: "nav-item disabled", title: reason, "aria-disabled": "true" }, item.label);
  }
  return h("a", { href: item.path, dataset: { nav: item.path } }, item.label);
}

function renderNav() {
  let items = NAV;
  if (shell.capabilitiesFailed) items = NAV.filter((i) => i.label !== "Runs");
  mount(document.getElementById("nav"), items.map(navItem));
  markCurrent();
}

function markCurrent() {
  const path = location.pathname;
  for (const a of document.querySelectorAll("#nav a[data-nav]")) {
    const item = NAV.find((i) => i.path === a.dataset.nav);
    const prefixes = [item.path, ...(item.also || [])];
    const active = prefixes.some((p) => path === p || path.startsWith(p + "/"));
    if (active) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

async function loadCapabilities() {
  const note = document.getElementById("runtime-status");
  try {
    const body = await get(ws("/capabilities"));
    shell.capabilities = body.capabilities;
    shell.capabilitiesFailed = false;
    note.className = "status-note";
    note.textContent = `Runtime ready · ${body.capabilities.filter((c) => c.enabled).length} caps`;
  } catch {
    shell.capabilities = null;
    shell.capabilitiesFailed = true;
    note.className = "status-note fallback";
    note.textContent = "Capabilities unavailable: showing the default navigation";
  }
  renderNav();
}

/** Boot the shell; `onWorkspaceChange` re-renders the current screen. */
export async function startShell(onWorkspaceChange) {
  document.getElementById("app-name").textContent = config.appName;
  document.title = config.appName;
  const select = document.getElementById("workspace-select");
  let saved = null;
  try {
    saved = localStorage.getItem("flowai.workspace");
  } catch {
    /* storage unavailable */
  }
  try {
    const body = await get("/workspaces");
    shell.workspaces = body.workspaces;
    const keys = body.workspaces.map((w) => w.workspaceKey);
    setWorkspaceKey(keys.includes(saved) ? saved : body.defaultWorkspaceKey || config.defaultWorkspaceKey);
  } catch {
    shell.workspaces = [{ workspaceKey: workspaceKey(), displayName: workspaceKey() }];
  }
  mount(select, shell.workspaces.map((w) =>
    h("option", { value: w.workspaceKey, selected: w.workspaceKey === workspaceKey() }, w.displayName || w.workspaceKey)));
  select.addEventListener("change", async () => {
    setWorkspaceKey(select.value);
    applySettings();
    await loadCapabilities();
    onWorkspaceChange();
  });
  setupSettings();
  applySettings();
  document.addEventListener("flowai:navigated", markCurrent);
  await loadCapabilities();
}

function setupSettings() {
  const dialog = document.getElementById("settings-dialog");
  const theme = document.getElementById("theme-select");
  const latency = document.getElementById("latency-toggle");
  const demo = document.getElementById("demo-toggle");
  const open = () => {
    const s = settings();
    theme.value = s.theme;
    latency.checked = s.latency;
    demo.checked = s.demo;
    dialog.showModal();
  };
  document.getElementById("settings-button").addEventListener("click", open);
  document.addEventListener("keydown", (event) => {
    const tag = (event.target.tagName || "").toLowerCase();
    if (event.key === "," && !["input", "textarea", "select"].includes(tag) && !event.target.isContentEditable && !dialog.open) {
      event.preventDefault();
      open();
    }
  });
  theme.addEventListener("change", () => saveSettings({ theme: theme.value }));
  latency.addEventListener("change", () => saveSettings({ latency: latency.checked }));
  demo.addEventListener("change", () => saveSettings({ demo: demo.checked }));
  document.getElementById("demo-pill").addEventListener("click", () => saveSettings({ demo: false }));
}
