// The Studio context: workspaces, the active workspace and its capabilities, and the settings.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { config, get, wsPath } from "../api/client";
import type { Capability, WorkspaceSummary } from "../api/types";
import { loadSettings, rememberWorkspace, savedWorkspace, saveSettings, type Settings } from "../lib/settings";

export interface StudioState {
  workspace: string;
  workspaces: WorkspaceSummary[];
  /** null while loading or when they could not be loaded (see `capabilitiesFailed`). */
  capabilities: Capability[] | null;
  capabilitiesFailed: boolean;
  bootError: unknown;
  settings: Settings;
  setWorkspace: (key: string) => void;
  updateSettings: (patch: Partial<Settings>) => void;
  /** Path of a route of the active workspace. */
  ws: (path: string) => string;
  /** Whether capability `id` is enabled (true while unknown). */
  capable: (id: string) => boolean;
}

const StudioContext = createContext<StudioState | null>(null);

export function useStudio(): StudioState {
  const state = useContext(StudioContext);
  if (!state) throw new Error("useStudio outside <StudioProvider>");
  return state;
}

/** Provide the Studio context (the `value` override is for component tests). */
export function StudioProvider({ children, value }: { children: ReactNode; value?: Partial<StudioState> }) {
  const [workspaces, setWorkspaces] = useState<WorkspaceSummary[]>([]);
  const [workspace, setWorkspaceKey] = useState<string>(savedWorkspace() || config.defaultWorkspaceKey);
  const [capabilities, setCapabilities] = useState<Capability[] | null>(null);
  const [capabilitiesFailed, setFailed] = useState(false);
  const [bootError, setBootError] = useState<unknown>(null);
  const [settings, setSettings] = useState<Settings>(() => loadSettings(workspace));

  useEffect(() => {
    if (value) return;
    get<{ defaultWorkspaceKey: string; workspaces: WorkspaceSummary[] }>("/workspaces").then(
      (body) => {
        setWorkspaces(body.workspaces);
        const keys = body.workspaces.map((w) => w.workspaceKey);
        setWorkspaceKey((current) => (keys.includes(current) ? current : body.defaultWorkspaceKey || keys[0] || current));
      },
      (err) => {
        setBootError(err);
        setWorkspaces([{ workspaceKey: workspace, displayName: workspace }]);
      },
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    if (value) return;
    let live = true;
    setCapabilities(null);
    get<{ capabilities: Capability[] }>(wsPath(workspace, "/capabilities")).then(
      (body) => {
        if (!live) return;
        setCapabilities(body.capabilities);
        setFailed(false);
      },
      () => {
        if (!live) return;
        setCapabilities(null);
        setFailed(true);
      },
    );
    return () => {
      live = false;
    };
  }, [workspace, value]);

  useEffect(() => {
    document.documentElement.dataset.theme = settings.theme;
  }, [settings.theme]);

  const setWorkspace = useCallback((key: string) => {
    rememberWorkspace(key);
    setWorkspaceKey(key);
    setSettings(loadSettings(key));
  }, []);

  const updateSettings = useCallback(
    (patch: Partial<Settings>) => {
      setSettings((current) => {
        const next = { ...current, ...patch };
        saveSettings(workspace, next);
        return next;
      });
    },
    [workspace],
  );

  // Stable per workspace: screens reload their data when it changes, and only then.
  const ws = useCallback((path: string) => wsPath(workspace, path), [workspace]);
  const capable = useCallback(
    (id: string) => (capabilities ? Boolean(capabilities.find((c) => c.id === id)?.enabled) : true),
    [capabilities],
  );

  const state = useMemo<StudioState>(() => {
    const base: StudioState = {
      workspace,
      workspaces,
      capabilities,
      capabilitiesFailed,
      bootError,
      settings,
      setWorkspace,
      updateSettings,
      ws,
      capable,
    };
    return value ? { ...base, ...value } : base;
  }, [workspace, workspaces, capabilities, capabilitiesFailed, bootError, settings, setWorkspace, updateSettings, value, ws, capable]);

  return <StudioContext.Provider value={state}>{children}</StudioContext.Provider>;
}
