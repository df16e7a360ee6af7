// Overview: the workspace, its agents and tools, and the runtime description.
import { get, ws, workspaceKey } from "./api.js";
import { banner, errorText, h, jsonBlock, mount } from "./dom.js";

/** Render the Overview screen into `root`. */
export function renderOverview(root) {
  document.title = "Overview";
  const badge = h("span", { className: "badge", role: "status" }, "Loading");
  const body = h("div", {}, h("p", { className: "muted" }, "Loading runtime…"));
  mount(root, h("h1", {}, "Overview ", badge), body);
  let live = true;
  Promise.allSettled([get(ws("/runtime")), get(ws("/agents")), get("/status")]).then(([runtime, agents, status]) => {
    if (!live) return;
    const ok = [runtime, agents, status].filter((r) => r.status === "fulfilled").length;
    badge.textContent = ok === 3 ? "Ready" : "Partial";
    badge.className = `badge ${ok === 3 ? "ok" : "bad"}`;
    const rt = runtime.status === "fulfilled" ? runtime.value : null;
    const list = agents.status === "fulfilled" ? agents.value.agents : rt ? rt.agents : [];
    const entry = list.find((a) => a.entrypoint);
    const providers = rt ? rt.providers : [];
    const version = status.status === "fulfilled" ? status.value.studioApiVersion : "unknown";
    mount(body,
      [runtime, agents].filter((r) => r.status === "rejected").map((r) => banner(errorText(r.reason))),
      h("div", { className: "cards" },
        h("div", { className: "card" }, h("h3", {}, "Workspace"), h("code", {}, workspaceKey()),
          rt ? h("div", { className: "muted" }, `tenant ${rt.tenant.tenantId} · ${rt.tenant.version}`) : null),
        h("div", { className: "card" }, h("h3", {}, "Agents"), h("div", {}, `${list.length} agents`),
          h("div", { className: "muted" }, entry ? `entrypoint: ${entry.agentId}` : "no entrypoint")),
        h("div", { className: "card" }, h("h3", {}, "Providers"), h("div", {}, `${providers.length} providers`),
          providers.map((p) => h("span", { className: "chip", title: `credential: ${p.credential?.kind}` },
            `${p.name}${p.configured ? "" : " (not configured)"}`)),
          h("div", { className: "muted" }, `API ${version}`))),
      h("h2", {}, "Agents"),
      h("div", { className: "cards", "aria-label": "Agents" }, list.map(agentCard)),
      h("h2", {}, "Runtime"),
      rt ? jsonBlock(rt, "Runtime description") : h("p", { className: "muted" }, "Runtime description unavailable."));
  });
  return () => {
    live = false;
  };
}

function agentCard(agent) {
  return h("article", { className: "card agent", dataset: { agent: agent.agentId } },
    h("h3", {}, agent.agentId, " ", agent.entrypoint ? h("span", { className: "badge ok" }, "Entrypoint") : null),
    h("div", { className: "muted" }, `${agent.role} · ${agent.model}`),
    h("div", {}, agent.stateful ? "Stateful" : "Stateless"),
    agent.routes.length ? h("div", {}, "routes: ", agent.routes.map((r) => h("span", { className: "chip" }, r))) : null,
    agent.tools.length ? h("div", {}, "tools: ", agent.tools.map((t) => h("span", { className: "chip" }, t))) : null,
    agent.toolkits.length ? h("div", {}, "toolkits: ", agent.toolkits.map((t) => h("span", { className: "chip" }, typeof t === "string" ? t : JSON.stringify(t)))) : null);
}
