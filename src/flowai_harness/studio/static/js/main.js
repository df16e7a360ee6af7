// Entry point: the shell, then the routes of every screen.
import { h, mount } from "./dom.js";
import { dispatch, fallback, navigate, route, start } from "./router.js";
import { startShell } from "./shell.js";
import { renderOverview } from "./overview.js";
import { renderPlayground } from "./playground.js";
import { renderRunDetail, renderRuns } from "./runs.js";
import { renderTestDetail, renderTests } from "./tests.js";
import { renderEvalDetail, renderEvals } from "./evals.js";
import { renderConnect } from "./connect.js";

const main = () => document.getElementById("main");

route("/", () => navigate("/workspace", { replace: true }));
route("/workspace", () => renderOverview(main()));
route("/playground/:threadId?", (p, q) => renderPlayground(main(), p.threadId, q));
route("/chat/:threadId?", (p, q) => renderPlayground(main(), p.threadId, q));
route("/runs", (p, q) => renderRuns(main(), q));
route("/runs/approvals", () => renderRuns(main(), new URLSearchParams("tab=approvals")));
route("/approvals", () => renderRuns(main(), new URLSearchParams("tab=approvals")));
route("/runs/:runId", (p) => renderRunDetail(main(), p.runId));
route("/tests", (p, q) => renderTests(main(), null, q));
route("/tests/new", (p, q) => renderTests(main(), "new", q));
route("/tests/:testId", (p) => renderTestDetail(main(), p.testId));
route("/evals", (p, q) => renderEvals(main(), q));
route("/evals/new", (p, q) => renderEvals(main(), q, true));
route("/evals/:evalId", (p) => renderEvalDetail(main(), p.evalId));
route("/connect/:section?/:item?", (p, q) => renderConnect(main(), p.section, p.item, q));
fallback((path) => {
  document.title = "Not found";
  mount(main(), h("h1", {}, "Page not found"), h("p", { className: "muted" }, `Nothing lives at ${path}. `),
    h("a", { href: "/workspace" }, "Back to the overview"));
});

startShell(dispatch).then(start);
