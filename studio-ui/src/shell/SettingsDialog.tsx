// The settings dialog: theme, latency panel, demo mode (saved per workspace in this browser).
import { useEffect, useRef } from "react";
import type { Theme } from "../lib/settings";
import { useStudio } from "./studio";

export function SettingsDialog({ onClose }: { onClose: () => void }) {
  const { settings, updateSettings, workspace } = useStudio();
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const el = dialog.current;
    if (!el || el.open) return;
    if (typeof el.showModal === "function") el.showModal();
    else el.setAttribute("open", "");
  }, []);
  return (
    <dialog ref={dialog} aria-labelledby="settings-title" onClose={onClose} onCancel={onClose}>
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          onClose();
        }}
      >
        <h2 id="settings-title">Settings</h2>
        <p className="muted">Saved in this browser for the workspace {workspace}.</p>
        <label className="field">
          <span>Theme</span>
          <select value={settings.theme} onChange={(e) => updateSettings({ theme: e.target.value as Theme })}>
            <option value="system">System</option>
            <option value="light">Light</option>
            <option value="dark">Dark</option>
            <option value="slate">Slate</option>
          </select>
        </label>
        <label className="check">
          <input type="checkbox" checked={settings.latency} onChange={(e) => updateSettings({ latency: e.target.checked })} /> Show latency panel
        </label>
        <label className="check">
          <input type="checkbox" checked={settings.demo} onChange={(e) => updateSettings({ demo: e.target.checked })} /> Demo mode (mask e-mails and
          numbers everywhere)
        </label>
        <div className="row end">
          <button type="submit">Close</button>
        </div>
      </form>
    </dialog>
  );
}
