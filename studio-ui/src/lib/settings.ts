// Per-workspace browser settings (theme, latency panel, demo mode) and demo-mode masking.

export type Theme = "system" | "light" | "dark" | "slate";

export interface Settings {
  theme: Theme;
  latency: boolean;
  demo: boolean;
}

export const DEFAULT_SETTINGS: Settings = { theme: "slate", latency: false, demo: false };
const WORKSPACE_KEY = "flowai.workspace";

function settingsKey(workspace: string): string {
  return `flowai.settings.${workspace}`;
}

/** The settings saved for `workspace`. */
export function loadSettings(workspace: string): Settings {
  try {
    const saved = JSON.parse(localStorage.getItem(settingsKey(workspace)) || "{}") as Partial<Settings>;
    return { ...DEFAULT_SETTINGS, ...saved };
  } catch {
    return { ...DEFAULT_SETTINGS };
  }
}

/** Save the settings of `workspace` (and remember it as the last one, for the pre-paint theme). */
export function saveSettings(workspace: string, settings: Settings): void {
  try {
    localStorage.setItem(settingsKey(workspace), JSON.stringify(settings));
  } catch {
    /* storage unavailable: the settings last for this page only */
  }
}

/** The workspace chosen last in this browser. */
export function savedWorkspace(): string | null {
  try {
    return localStorage.getItem(WORKSPACE_KEY);
  } catch {
    return null;
  }
}

export function rememberWorkspace(key: string): void {
  try {
    localStorage.setItem(WORKSPACE_KEY, key);
  } catch {
    /* storage unavailable */
  }
}

const EMAIL = /[\w.+-]+@[\w-]+(\.[\w-]+)+/g;
const DIGITS = /\d{4,}/g;

/**
 * Mask e-mail addresses and runs of 4+ digits. Always applied to a whole text (never to a
 * streamed chunk, which could split an address in two).
 */
export function maskText(text: string): string {
  return text.replace(EMAIL, "•••@•••").replace(DIGITS, (m) => "•".repeat(m.length));
}
