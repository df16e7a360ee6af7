// The navigation: each screen and the capabilities that enable it.
import type { Capability } from "../api/types";

export interface NavItem {
  label: string;
  path: string;
  needs: string[];
  /** Other path prefixes that belong to the item. */
  also?: string[];
}

export const NAV: NavItem[] = [
  { label: "Overview", path: "/workspace", needs: ["runtime.inspect"] },
  { label: "Playground", path: "/playground", needs: ["chat.stream"], also: ["/chat"] },
  { label: "Approvals", path: "/approvals", needs: ["approvals.decide"] },
  { label: "Runs", path: "/runs", needs: ["runs.list", "traces.read"] },
  { label: "Tests", path: "/tests", needs: ["tests.manage"] },
  { label: "Evals", path: "/evals", needs: ["evals.run"] },
  { label: "Connect", path: "/connect", needs: ["data.sources", "data.profile", "knowledge.ingest", "tools.inspect"] },
];

export interface NavEntry extends NavItem {
  enabled: boolean;
  reason?: string;
}

/**
 * What the nav shows: an item whose capabilities are all unknown is hidden, one whose known
 * capabilities are all off is disabled with the reason. Without capabilities (the request
 * failed) every item but Runs is shown enabled.
 */
export function navEntries(capabilities: Capability[] | null, failed: boolean): NavEntry[] {
  if (!capabilities) {
    return NAV.filter((item) => !failed || item.path !== "/runs").map((item) => ({ ...item, enabled: true }));
  }
  const out: NavEntry[] = [];
  for (const item of NAV) {
    const known = item.needs.map((id) => capabilities.find((c) => c.id === id)).filter((c): c is Capability => Boolean(c));
    if (!known.length) continue;
    const enabled = known.some((c) => c.enabled);
    const reason = enabled ? undefined : known.map((c) => c.reason).find(Boolean) || "Not available in this workspace.";
    out.push({ ...item, enabled, reason });
  }
  return out;
}

/** Whether `path` belongs to the nav item. */
export function isActive(item: NavItem, path: string): boolean {
  return [item.path, ...(item.also ?? [])].some((p) => path === p || path.startsWith(`${p}/`)) ||
    (item.path === "/approvals" && path.startsWith("/runs") && location.search.includes("tab=approvals"));
}
