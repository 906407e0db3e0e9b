// Lockstep dashboard: plain JavaScript, no build step, no dependencies.
//
// The operator token is asked for once and kept in sessionStorage (this tab only). Every call sends
// it as "Authorization: Bearer …"; it never goes into a URL. The release's server-sent events are
// read with fetch() and a stream reader rather than EventSource, because EventSource cannot send
// that header. Data from the API is only ever set as text (never as HTML).
(function () {
  "use strict";

  const TOKEN_KEY = "lockstep.operatorToken";
  const POLL_MS = 2000;
  const PHASES = ["PLANNED", "PREFLIGHT", "PREPARING", "MIGRATING", "SWITCHING", "COMPLETED"];
  // Only a release with contract migrations passes through CONTRACTING, between SWITCHING and COMPLETED.
  const CONTRACT_PHASES = ["PLANNED", "PREFLIGHT", "PREPARING", "MIGRATING", "SWITCHING", "CONTRACTING", "COMPLETED"];
  const TERMINAL = new Set(["COMPLETED", "ABORTED", "FAILED"]);
  // Worst first: the order of state chips and of agents inside a group.
  const STATE_ORDER = ["lost", "failed", "holding", "aborted", "preparing", "prepared", "switching", "switched", "serving",
    "retired"];
  const EXPAND_UP_TO = 30;      // fleets this small open every revision group by default
  const ROWS_PER_GROUP = 100;   // rows drawn in an open group before "show all"
  const RELEASE_AGENT_ROWS = 30;

  const state = {
    token: null,
    service: new URLSearchParams(location.search).get("service"),
    agents: [],
    releases: [],
    historyKey: "",
    releaseKey: "",
    follow: null,            // {id, doc, events, lastSeq, lastActivePhase, ended, ctrl, refreshTimer}
    expanded: new Map(),     // revision -> open?
    showAll: new Set(),      // revisions whose every row is drawn
    openHistory: new Set(),  // release ids whose details are open
    showAllReleaseAgents: false,
    timer: null,
  };

  const $ = (id) => document.getElementById(id);

  // ---- small DOM helper: h("td", {class: "num"}, "text", child, …) ----
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === null || v === undefined || v === false) continue;
        if (k === "class") el.className = v;
        else if (k === "onclick") el.addEventListener("click", v);
        else if (k === "style") el.style.cssText = v;   // CSSOM, which the page's CSP allows (a style attribute it does not)
        else el.setAttribute(k, v === true ? "" : String(v));
      }
    }
    append(el, children);
    return el;
  }
  function append(el, children) {
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      if (Array.isArray(c)) append(el, c);
      else el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
  }
  function replace(el, ...children) {
    el.replaceChildren();
    append(el, children);
  }
  const badge = (text, cls, title) => h("span", {class: "badge " + (cls || ""), title}, text);
  const phaseBadge = (phase) => badge(phase, "p-" + phase);
  const stateBadge = (s) => badge(s, "s-" + s);
  const modeBadge = (mode) => mode ? badge(mode, "m-" + mode, "mode") : null;
  // A release's contract (its removals, run after the switch): absent for releases stored before contracts existed.
  const contractOf = (doc) => doc.contract || {state: "none", migrations: [], waitingFor: []};
  const hasContract = (doc) => contractOf(doc).migrations.length > 0;
  const contractBadge = (doc) => contractOf(doc).state !== "none"
    ? badge("contract " + contractOf(doc).state, "c-" + contractOf(doc).state, "contract migrations") : null;
  // "V7 (drop user legacy name)" -> "7", as the applied migrations name their version.
  const versionOf = (label) => label.replace(/^[VU]/, "").split(" ")[0];

  // ---- formatting ----
  function ago(iso) {
    if (!iso) return "never";
    const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (s < 60) return s + " s ago";
    if (s < 3600) return Math.floor(s / 60) + " min ago";
    if (s < 86400) return Math.floor(s / 3600) + " h ago";
    return Math.floor(s / 86400) + " d ago";
  }
  function duration(ms) {
    if (ms === null || ms === undefined || isNaN(ms)) return "–";
    if (ms < 1000) return Math.round(ms) + " ms";
    if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 1 : 0) + " s";
    const m = Math.floor(ms / 60000);
    return m + " min " + Math.round((ms % 60000) / 1000) + " s";
  }
  function when(iso) {
    if (!iso) return "–";
    const d = new Date(iso);
    const today = new Date().toDateString() === d.toDateString();
    return today ? d.toLocaleTimeString([], {hour12: false})
      : d.toLocaleString([], {month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false});
  }
  const clock = (iso) => iso ? new Date(iso).toLocaleTimeString([], {hour12: false}) : "";
  function releaseMs(doc) {
    if (!doc.createdAt) return null;
    const end = TERMINAL.has(doc.phase) ? Date.parse(doc.updatedAt) : Date.now();
    return end - Date.parse(doc.createdAt);
  }
  const schemaText = (doc) => (doc.fromSchema || "none") + " → " + (doc.schema || "newest");
  const plural = (n, word) => n + " " + word + (n === 1 ? "" : "s");

  // ---- API ----
  class Refused extends Error {
    constructor(status, body) {
      super((body && body.detail) || "the coordinator refused the token");
      this.status = status;
      this.error = body && body.error;
    }
  }

  async function api(path, token) {
    const res = await fetch(path, {
      headers: {"Authorization": "Bearer " + (token || state.token), "Accept": "application/json"},
      cache: "no-store",
    });
    const body = await res.json().catch(() => null);
    if (res.status === 401 || res.status === 403) throw new Refused(res.status, body);
    if (!res.ok) throw new Error((body && body.detail) || ("HTTP " + res.status + " from " + path));
    return body;
  }

  function qs(params) {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v) p.set(k, v);
    const s = p.toString();
    return s ? "?" + s : "";
  }

  // ---- sign in / out ----
  async function signIn(token) {
    // Any operator-only read proves the token; the releases list is small.
    await api("/v1/releases" + qs({service: state.service, limit: 1}), token);
    state.token = token;
    sessionStorage.setItem(TOKEN_KEY, token);
    $("signin").hidden = true;
    $("board").hidden = false;
    $("sign-out").hidden = false;
    $("signin-error").hidden = true;
    setLive("polling", "connecting…");
    tick();
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    stopFollowing();
    clearTimeout(state.timer);
    state.timer = null;
    $("board").hidden = true;
    $("sign-out").hidden = true;
    $("signin").hidden = false;
    $("token").value = "";
    setLive("idle", "not signed in");
    showSigninError(message);
    $("token").focus();
  }

  function refusedText(e) {
    const what = e.status === 403 ? "403 forbidden" : "401 unauthorized";
    return "Token refused (" + what + "): " + e.message;
  }

  function showSigninError(message) {
    const el = $("signin-error");
    el.textContent = message || "";
    el.hidden = !message;
  }

  function setLive(kind, text) {
    $("live").dataset.state = kind;
    $("live-text").textContent = text;
  }

  // ---- polling: fleet and release list ----
  async function tick() {
    clearTimeout(state.timer);
    if (!state.token) return;
    try {
      const [agents, releases] = await Promise.all([
        api("/v1/agents" + qs({service: state.service})),
        api("/v1/releases" + qs({service: state.service, limit: 25})),
      ]);
      state.agents = agents.agents || [];
      state.releases = releases.releases || [];
      $("page-error").hidden = true;
      renderFleet();
      chooseRelease();
      renderHistory();
      if (!state.follow || state.follow.ended) setLive("polling", "up to date · " + clock(new Date().toISOString()));
    } catch (e) {
      if (e instanceof Refused) {
        signOut(refusedText(e) + ". Sign in again.");
        return;
      }
      setLive("trouble", "coordinator unreachable, retrying");
      const err = $("page-error");
      err.textContent = "Could not reach the coordinator: " + e.message;
      err.hidden = false;
    }
    if (state.token) state.timer = setTimeout(tick, POLL_MS);
  }

  // ---- the release shown: the one in progress, else the latest ----
  function chooseRelease() {
    const list = state.releases;
    const running = list.find((r) => !TERMINAL.has(r.phase));
    const candidate = running || list[0];
    const f = state.follow;
    if (!candidate) {
      renderRelease();
      return;
    }
    if (!f || (f.id !== candidate.id && (f.ended || running))) {
      followRelease(candidate);
    } else if (f.id === candidate.id && !f.ended) {
      f.doc = candidate.updatedAt >= (f.doc.updatedAt || "") ? candidate : f.doc;
      renderRelease();
    } else if (f.id === candidate.id && TERMINAL.has(candidate.phase)) {
      // Ended, but its contract may still move (pending → applied by lockstep contract): the polled document says so.
      f.doc = candidate;
      renderRelease();
    } else {
      renderRelease();
    }
  }

  function stopFollowing() {
    const f = state.follow;
    if (f) {
      f.closed = true;
      f.ctrl.abort();
      clearTimeout(f.refreshTimer);
    }
    state.follow = null;
  }

  function followRelease(doc) {
    stopFollowing();
    const f = {id: doc.id, doc, events: [], lastSeq: 0, lastActivePhase: null, ended: false, closed: false,
      ctrl: new AbortController(), refreshTimer: null};
    state.follow = f;
    state.showAllReleaseAgents = false;
    renderRelease();
    stream(f);
  }

  // Reads GET /v1/releases/{id}/events as a stream; reconnects with Last-Event-ID until the release ends.
  async function stream(f) {
    while (!f.closed && !f.ended) {
      try {
        const headers = {"Authorization": "Bearer " + state.token, "Accept": "text/event-stream"};
        if (f.lastSeq) headers["Last-Event-ID"] = String(f.lastSeq);
        const res = await fetch("/v1/releases/" + encodeURIComponent(f.id) + "/events",
          {headers, cache: "no-store", signal: f.ctrl.signal});
        if (res.status === 401 || res.status === 403) {
          signOut(refusedText(new Refused(res.status, await res.json().catch(() => null))) + ". Sign in again.");
          return;
        }
        if (!res.ok) throw new Error("HTTP " + res.status);
        if (!TERMINAL.has(f.doc.phase)) setLive("live", "live · following " + f.id);
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const {value, done} = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, {stream: true}).replace(/\r\n?/g, "\n");
          let cut;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            if (f.closed) return;
            onServerEvent(f, block);
          }
        }
      } catch (e) {
        if (f.closed) return;
        setLive("trouble", "event stream interrupted, reconnecting");
      }
      if (!f.ended && !f.closed) await new Promise((r) => setTimeout(r, 1500));
    }
  }

  function onServerEvent(f, block) {
    let name = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") name = value;
      else if (field === "data") data.push(value);
    }
    if (!data.length) return;
    const payload = JSON.parse(data.join("\n"));
    if (name === "end") {
      f.ended = true;
      f.doc = payload;
      renderRelease();
      setLive("polling", f.id + " ended " + payload.phase);
      setTimeout(tick, 50);   // the history gains a row
      return;
    }
    f.events.push(payload);
    f.lastSeq = payload.seq;
    if (!TERMINAL.has(payload.phase)) f.lastActivePhase = payload.phase;
    f.doc = Object.assign({}, f.doc, {phase: payload.phase});
    renderRelease();
    // The event says what happened; the document has the agents and migrations: read it, at most every 150 ms.
    if (!f.refreshTimer) {
      f.refreshTimer = setTimeout(async () => {
        f.refreshTimer = null;
        try {
          const doc = await api("/v1/releases/" + encodeURIComponent(f.id));
          if (!f.closed && !f.ended) {
            f.doc = doc;
            renderRelease();
          }
        } catch (e) {
          if (e instanceof Refused) signOut(refusedText(e) + ". Sign in again.");
        }
      }, 150);
    }
  }

  // ---- rendering: release ----
  function renderRelease() {
    const card = $("release");
    const body = $("release-body");
    const f = state.follow;
    if (!f) {
      state.releaseKey = "";
      card.removeAttribute("data-release");
      card.removeAttribute("data-phase");
      $("release-title").textContent = "Release";
      $("release-id").textContent = "";
      replace($("release-badges"));
      replace(body, h("p", {class: "empty"}, "No release yet for this service. Start one with ",
        h("code", null, "lockstep release --revision R"), "."));
      return;
    }
    const doc = f.doc;
    const running = !TERMINAL.has(doc.phase);
    // Redraw only when something changed (a redraw would drop the reader's selection and scroll);
    // the elapsed time ticks in place.
    const key = JSON.stringify(doc) + "|" + f.events.length + "|" + f.lastActivePhase + "|" + state.showAllReleaseAgents;
    if (key === state.releaseKey) {
      const elapsed = $("release-elapsed");
      if (elapsed) elapsed.textContent = duration(releaseMs(doc));
      return;
    }
    state.releaseKey = key;
    card.dataset.release = doc.id;
    card.dataset.phase = doc.phase;
    $("release-title").textContent = running ? "Release in progress" : "Latest release";
    $("release-id").textContent = doc.id;
    replace($("release-badges"), modeBadge(doc.mode), phaseBadge(doc.phase), contractBadge(doc));

    const parts = [];
    parts.push(progressLine(doc, f.lastActivePhase));
    parts.push(h("div", {class: "facts"},
      fact("Revision", doc.revision, "mono"),
      fact("Schema", schemaText(doc)),
      fact(running ? "Elapsed" : "Duration", duration(releaseMs(doc)), null, null, "release-elapsed"),
      fact("Switch skew", doc.switchSkewMs === null || doc.switchSkewMs === undefined ? "–" : duration(doc.switchSkewMs)),
      fact("Started", when(doc.createdAt)),
      fact("Requested by", requester(doc.requestedBy, doc.requestedFrom), null, null, "release-requested-by"),
      doc.abortedBy ? fact("Abort asked by", requester(doc.abortedBy, doc.abortedFrom), null, null, "release-aborted-by") : null));
    if (doc.reason) parts.push(reasonBox(doc));
    if (doc.modeReason) parts.push(h("p", {class: "muted small"}, "Mode " + doc.mode + ": " + doc.modeReason));
    if (hasContract(doc)) parts.push(contractSection(doc));
    parts.push(h("div", {class: "split"}, releaseAgents(doc), migrations(doc)));
    if (doc.findings.length || doc.repairs.length) parts.push(findingsAndRepairs(doc));
    parts.push(eventLog(f));
    replace(body, parts);
    const log = body.querySelector(".events");
    if (log) log.scrollTop = log.scrollHeight;
  }

  // Who asked, from where: the audit of the release document (null for releases stored before it existed).
  function requester(name, from) {
    return name ? name + (from ? " from " + from : "") : "–";
  }

  function fact(k, v, cls, title, id) {
    return h("div", {class: "fact", title}, h("div", {class: "k"}, k), h("div", {class: "v " + (cls || ""), id}, v));
  }

  function reasonBox(doc) {
    const aborted = doc.phase === "ABORTED";
    return h("div", {class: "reason" + (aborted ? " aborted" : ""), "data-reason": true},
      h("strong", null, doc.phase === "FAILED" ? "Failed" : aborted ? "Aborted" : "Reason"), doc.reason);
  }

  function progressLine(doc, lastActive) {
    const phase = doc.phase;
    const phases = hasContract(doc) ? CONTRACT_PHASES : PHASES;
    const stoppedAt = phase === "ABORTED" || phase === "FAILED" ? (lastActive || "PLANNED") : null;
    const reached = phases.indexOf(stoppedAt || phase);
    // A COMPLETED release whose contract did not apply passed CONTRACTING without its removals: say how it left it.
    const contract = contractOf(doc).state;
    return h("ol", {class: "phases", "aria-label": "phases"}, phases.map((p, i) => {
      let cls = "phase";
      let mark = "";
      let label = p;
      if (stoppedAt) {
        if (i < reached) { cls += " done"; mark = "✓"; }
        else if (i === reached) { cls += " stopped" + (phase === "ABORTED" ? " aborted" : ""); mark = "✕"; label = phase + " in " + p; }
      } else if (p === "CONTRACTING" && phase === "COMPLETED" && (contract === "pending" || contract === "failed")) {
        cls += " done contract-" + contract; mark = contract === "failed" ? "✕" : "…"; label = p + " " + contract;
      } else if (phase === "COMPLETED" || i < reached) { cls += " done"; mark = "✓"; }
      else if (i === reached) { cls += " current"; }
      return h("li", {class: cls, "data-phase": p}, h("span", {class: "node"}, mark), label);
    }));
  }

  // The contract: its migrations, whom it waits for, and where it ended (applied, pending for lockstep contract, failed).
  function contractSection(doc) {
    const c = contractOf(doc);
    const applied = new Set((doc.applied || []).map((m) => String(m.version)));
    const parts = [h("h3", null, "Contract", h("span", {class: "count"}, plural(c.migrations.length, "migration")
      + " after the switch"), " ", badge(c.state, "c-" + c.state))];
    if (c.state === "waiting" && doc.phase === "CONTRACTING") {
      parts.push(c.waitingFor.length
        ? h("p", {class: "small"}, "Waiting until no agent runs another revision than ", h("span", {class: "mono"}, doc.revision),
          "; still on another:")
        : h("p", {class: "small"}, "No agent runs another revision than ", h("span", {class: "mono"}, doc.revision),
          "; applying the contract."));
    } else if (c.state === "waiting") {
      parts.push(h("p", {class: "small muted"}, "Runs after the switch, once every agent runs ",
        h("span", {class: "mono"}, doc.revision), "."));
    } else if (c.state === "applied") {
      parts.push(h("p", {class: "small", "data-contract-applied": true}, "Applied " + when(c.appliedAt)
        + (c.afterLastSwitchMs === null || c.afterLastSwitchMs === undefined ? ""
          : ", " + duration(c.afterLastSwitchMs) + " after the last switch") + "."));
    } else if (c.state === "pending") {
      parts.push(h("div", {class: "reason aborted", "data-contract-reason": true}, h("strong", null, "Contract pending"), c.reason),
        h("p", {class: "small"}, "To apply it once no server runs another revision: ",
          h("code", {"data-contract-command": true}, "lockstep contract --service " + doc.service)));
    } else if (c.state === "failed") {
      parts.push(h("div", {class: "reason", "data-contract-reason": true}, h("strong", null, "Contract failed"), c.reason));
    } else if (c.reason) {
      parts.push(h("p", {class: "small muted"}, "Not run: " + c.reason));
    }
    if (c.waitingFor.length && (c.state === "waiting" || c.state === "pending")) {
      parts.push(h("ul", {class: "list waiting"}, c.waitingFor.map((a) =>
        h("li", {"data-waiting-for": a}, h("span", {class: "flag"}, "⚑"), h("span", {class: "grow mono"}, a)))));
    }
    parts.push(h("ul", {class: "list"}, c.migrations.map((label) => {
      const done = applied.has(versionOf(label));
      return h("li", {"data-contract-migration": label},
        done ? h("span", {class: "tick"}, "✓") : h("span", {class: "wait"}, "○"),
        h("span", {class: "grow mono"}, label), badge("contract", "c-tag"));
    })));
    return h("div", {class: "section contract", "data-contract": c.state}, parts);
  }

  function releaseAgents(doc) {
    const agents = doc.agents || [];
    const acked = agents.filter((a) => a.digest || ["prepared", "switching", "switched"].includes(a.state)).length;
    const switched = agents.filter((a) => a.switchedAt).length;
    const sorted = agents.slice().sort((a, b) => STATE_ORDER.indexOf(a.state) - STATE_ORDER.indexOf(b.state)
      || a.id.localeCompare(b.id, undefined, {numeric: true}));
    const shown = state.showAllReleaseAgents ? sorted : sorted.slice(0, RELEASE_AGENT_ROWS);
    const head = h("h3", null, "Agents", agents.length
      ? h("span", {class: "count"}, acked + "/" + agents.length + " acknowledged · " + switched + "/" + agents.length + " switched")
      : null);
    if (!agents.length) {
      return h("div", null, head, h("p", {class: "muted small"}, doc.phase === "PLANNED" || doc.phase === "PREFLIGHT"
        ? "Agents take part from PREPARING on." : "No agents took part."));
    }
    const table = h("table", {class: "small"},
      h("thead", null, h("tr", null, h("th", null, "Agent"), h("th", null, "State"), h("th", null, "Staged"), h("th", {class: "num"}, "Switched"))),
      h("tbody", null, shown.map((a) => h("tr", {"data-release-agent": a.id},
        h("td", {class: "mono"}, a.id),
        h("td", null, stateBadge(a.state),
          // Readiness mode: a new instance turns ready at the switch, a retiring one un-ready; a gone one left.
          a.role && a.role !== "in-place" ? h("span", {class: "muted small", "data-role": a.role}, " " + a.role
            + (a.gone ? " · gone" : "")) : null,
          a.detail ? h("div", {class: "muted small"}, a.detail) : null),
        h("td", {class: "mono nowrap", title: a.digest ? "staged migrations digest " + a.digest : null}, a.digest ? "✓ " + a.digest.slice(0, 8) : "–"),
        h("td", {class: "num"}, a.switchedAt ? clock(a.switchedAt) : "–")))));
    const more = agents.length > shown.length
      ? h("button", {class: "link small", onclick: () => { state.showAllReleaseAgents = true; renderRelease(); }},
        "Show all " + agents.length + " agents")
      : null;
    return h("div", null, head, table, more);
  }

  function migrations(doc) {
    const applied = new Map((doc.applied || []).map((m) => [String(m.version), m]));
    const pending = doc.pending || [];
    const head = h("h3", null, "Migrations", h("span", {class: "count"}, applied.size + "/" + pending.length + " applied"));
    if (!pending.length && !applied.size) return h("div", null, head, h("p", {class: "muted small"}, "No pending migrations."));
    const contract = new Set(contractOf(doc).migrations);
    const rows = pending.map((label) => {
      const version = versionOf(label);
      const m = applied.get(version);
      return h("li", {"data-migration": version},
        m ? h("span", {class: "tick"}, "✓") : h("span", {class: "wait"}, "○"),
        h("span", {class: "grow mono"}, label),
        contract.has(label) ? badge("contract", "c-tag", "runs after the switch, once no agent runs another revision") : null,
        m ? h("span", {class: "muted small"}, duration(m.executionMs)) : h("span", {class: "muted small"}, "pending"));
    });
    return h("div", null, head, h("ul", {class: "list"}, rows));
  }

  function findingsAndRepairs(doc) {
    return h("div", {class: "section"},
      h("h3", null, "Findings and repairs", h("span", {class: "count"},
        plural(doc.findings.length, "finding") + " · " + plural(doc.repairs.length, "repair"))),
      findingList(doc.findings),
      doc.repairs.map((sql) => h("div", {class: "sql"}, sql)));
  }

  function findingList(findings) {
    if (!findings.length) return null;
    return h("ul", {class: "list"}, findings.map((x) => h("li", null,
      badge(x.severity, "sev-" + x.severity), h("span", {class: "mono"}, x.rule),
      h("span", {class: "grow"}, h("strong", null, x.object), " — ", x.message))));
  }

  function eventLog(f) {
    const events = f.events.slice(-200);
    return h("div", {class: "section"},
      h("h3", null, "Events", h("span", {class: "count"}, f.events.length ? String(f.events.length) : "")),
      h("div", {class: "events", "aria-live": "polite"}, events.length
        ? events.map((e) => h("div", null, h("span", {class: "t"}, clock(e.at)), " ", h("span", {class: "ph"}, e.phase), " ",
          // Messages start with their phase ("PREPARING: …"), which the coloured column already shows.
          e.message.startsWith(e.phase + ": ") ? e.message.slice(e.phase.length + 2) : e.message))
        : h("div", {class: "t"}, "waiting for events…")));
  }

  // ---- rendering: history ----
  function renderHistory() {
    const list = state.releases;
    const key = JSON.stringify(list.map((r) => [r.id, r.phase, r.updatedAt, r.abortedBy, contractOf(r).state]))
      + [...state.openHistory].join();
    if (key === state.historyKey) return;
    state.historyKey = key;
    $("history-count").textContent = list.length ? "latest " + list.length : "";
    const body = $("history-body");
    if (!list.length) {
      replace(body, h("p", {class: "empty"}, "No releases yet."));
      return;
    }
    const rows = [];
    for (const r of list) {
      const open = state.openHistory.has(r.id);
      const toggle = () => {
        if (state.openHistory.has(r.id)) state.openHistory.delete(r.id); else state.openHistory.add(r.id);
        renderHistory();
      };
      rows.push(h("tr", {class: "row" + (open ? " open" : ""), "data-history": r.id, "data-phase": r.phase, onclick: toggle},
        h("td", null, h("span", {class: "caret"}, open ? "▾" : "▸"), " ", when(r.createdAt)),
        h("td", {class: "mono"}, r.revision),
        h("td", {"data-requested-by": r.requestedBy || "", title: r.requestedFrom ? "from " + r.requestedFrom : null},
          r.requestedBy || "–"),
        h("td", {class: "mono"}, schemaText(r)),
        h("td", null, modeBadge(r.mode)),
        h("td", {"data-contract": contractOf(r).state}, phaseBadge(r.phase), " ", contractBadge(r)),
        h("td", null, findingsCell(r.findings)),
        h("td", {class: "num"}, r.repairs.length || "–"),
        h("td", {class: "num"}, r.switchSkewMs === null || r.switchSkewMs === undefined ? "–" : duration(r.switchSkewMs)),
        h("td", {class: "num"}, TERMINAL.has(r.phase) ? duration(releaseMs(r)) : "running")));
      if (r.reason) {
        rows.push(h("tr", {class: "reason-row"}, h("td", {class: "reason-cell" + (r.phase === "ABORTED" ? " aborted" : ""), colspan: 10},
          r.reason, r.abortedBy ? " (abort asked by " + requester(r.abortedBy, r.abortedFrom) + ")" : "")));
      }
      const c = contractOf(r);
      if ((c.state === "pending" || c.state === "failed") && c.reason) {
        rows.push(h("tr", {class: "reason-row"}, h("td", {class: "reason-cell" + (c.state === "pending" ? " aborted" : ""),
          colspan: 10, "data-contract-reason": c.state}, "Contract " + c.state + ": " + c.reason)));
      }
      if (open) rows.push(h("tr", {class: "details"}, h("td", {colspan: 10}, historyDetails(r))));
    }
    replace(body, h("table", {class: "history-table"},
      h("thead", null, h("tr", null, ["Started", "Revision", "Requested by", "Schema", "Mode", "Outcome", "Findings"].map((t) => h("th", null, t)),
        ["Repairs", "Skew", "Duration"].map((t) => h("th", {class: "num"}, t)))),
      h("tbody", null, rows)));
  }

  function findingsCell(findings) {
    if (!findings.length) return "–";
    const worst = ["block", "warn", "info"].find((s) => findings.some((x) => x.severity === s));
    return badge(findings.length + " " + worst, "sev-" + worst, findings.map((x) => x.rule + " " + x.object).join("\n"));
  }

  function historyDetails(r) {
    const switched = r.agents.filter((a) => a.switchedAt).length;
    return h("div", null,
      h("p", {class: "small"}, h("span", {class: "muted"}, "Release "), h("span", {class: "mono"}, r.id),
        h("span", {class: "muted"}, " · " + plural(r.agents.length, "agent") + ", " + switched + " switched · epoch " + r.epoch)),
      r.modeReason ? h("p", {class: "small muted"}, "Mode " + r.mode + ": " + r.modeReason) : null,
      r.applied.length ? h("p", {class: "small"}, "Applied: ", appliedList(r)) : null,
      contractOf(r).migrations.length && contractOf(r).state !== "applied"
        ? h("p", {class: "small"}, "Contract (" + contractOf(r).state + "): ", contractOf(r).migrations.join(", ")) : null,
      findingList(r.findings),
      r.repairs.map((sql) => h("div", {class: "sql"}, sql)));
  }

  // The migrations a release applied, its contract migrations marked as such.
  function appliedList(r) {
    const contract = new Set(contractOf(r).migrations.map(versionOf));
    return r.applied.map((m, i) => [i ? ", " : null, h("span", {"data-applied": m.version}, "V" + m.version + " " + m.description),
      contract.has(String(m.version)) ? [" ", badge("contract", "c-tag", "ran after the switch")] : null]);
  }

  // ---- rendering: fleet, grouped by revision ----
  function renderFleet() {
    const agents = state.agents;
    const groups = new Map();
    for (const a of agents) {
      if (!groups.has(a.revision)) groups.set(a.revision, []);
      groups.get(a.revision).push(a);
    }
    const ordered = [...groups.entries()].sort((x, y) => y[1].length - x[1].length || String(x[0]).localeCompare(String(y[0])));
    const lost = agents.filter((a) => a.state === "lost");
    $("fleet-summary").textContent = plural(agents.length, "agent") + " · " + plural(groups.size, "revision")
      + (lost.length ? " · " + lost.length + " lost" : "");

    const banner = $("fleet-lost");
    if (lost.length) {
      const names = lost.slice(0, 8).map((a) => a.id).join(", ") + (lost.length > 8 ? " and " + (lost.length - 8) + " more" : "");
      banner.textContent = "⚑ " + plural(lost.length, "agent") + " lost (silent past the liveness timeout): " + names
        + ". A release refuses to start until they return or are removed.";
      banner.hidden = false;
    } else {
      banner.hidden = true;
    }

    const body = $("fleet-body");
    if (!agents.length) {
      replace(body, h("p", {class: "empty"}, "No agents have reported for this service."));
      return;
    }
    replace(body, ordered.map(([revision, members]) => group(revision, members, agents.length)));
  }

  function group(revision, members, total) {
    if (!state.expanded.has(revision)) state.expanded.set(revision, total <= EXPAND_UP_TO);
    const open = state.expanded.get(revision);
    const counts = new Map();
    for (const a of members) counts.set(a.state, (counts.get(a.state) || 0) + 1);
    const states = STATE_ORDER.filter((s) => counts.has(s)).concat([...counts.keys()].filter((s) => !STATE_ORDER.includes(s)));
    const head = h("div", {class: "group-head", role: "button", "aria-expanded": String(open),
      onclick: () => { state.expanded.set(revision, !open); renderFleet(); }},
      h("span", {class: "caret"}, open ? "▾" : "▸"),
      h("span", {class: "rev"}, revision),
      h("span", {class: "n"}, plural(members.length, "agent")),
      h("span", {class: "chips"}, states.map((s) => badge(counts.get(s) + " " + s, "s-" + s))));
    const bar = h("div", {class: "bar"}, states.map((s) =>
      h("span", {class: "s-" + s, style: "width:" + (100 * counts.get(s) / members.length) + "%"})));
    const el = h("div", {class: "group", "data-revision": revision, "data-open": String(open)}, head, bar);
    if (!open) return el;
    const sorted = members.slice().sort((a, b) => STATE_ORDER.indexOf(a.state) - STATE_ORDER.indexOf(b.state)
      || a.id.localeCompare(b.id, undefined, {numeric: true}));
    const shown = state.showAll.has(revision) ? sorted : sorted.slice(0, ROWS_PER_GROUP);
    el.appendChild(h("table", null,
      h("thead", null, h("tr", null, h("th", null, "Agent"), h("th", null, "State"), h("th", {class: "num"}, "Last seen"))),
      h("tbody", null, shown.map((a) => h("tr", {class: a.state === "lost" ? "lost" : null, "data-agent": a.id, "data-state": a.state},
        h("td", {class: "mono"}, a.id, a.state === "lost" ? h("span", {class: "flag", title: "lost"}, "⚑") : null),
        h("td", {title: [a.detail, a.releaseId && "release " + a.releaseId].filter(Boolean).join("\n") || null},
          stateBadge(a.state), a.detail ? h("span", {class: "muted small"}, " " + a.detail) : null),
        h("td", {class: "num muted", title: a.lastSeen || ""}, ago(a.lastSeen)))))));
    if (shown.length < sorted.length) {
      el.appendChild(h("div", {class: "more"}, h("button", {class: "link", onclick: () => { state.showAll.add(revision); renderFleet(); }},
        "Show all " + sorted.length + " agents on " + revision)));
    }
    return el;
  }

  // ---- start ----
  async function boot() {
    $("signin-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const token = $("token").value.trim();
      if (!token) return;
      $("signin-button").disabled = true;
      try {
        await signIn(token);
      } catch (e) {
        showSigninError(e instanceof Refused ? refusedText(e) : "Could not reach the coordinator: " + e.message);
      } finally {
        $("signin-button").disabled = false;
      }
    });
    $("sign-out").addEventListener("click", () => signOut(null));
    if (!state.service) {
      try {
        const health = await (await fetch("/health", {cache: "no-store"})).json();
        state.service = health.service;
      } catch (e) { /* the API's own default service applies */ }
    }
    $("service-name").textContent = state.service || "";
    const saved = sessionStorage.getItem(TOKEN_KEY);
    if (saved) {
      try {
        await signIn(saved);
        return;
      } catch (e) {
        signOut(e instanceof Refused ? refusedText(e) : null);
        return;
      }
    }
    $("token").focus();
  }

  document.addEventListener("DOMContentLoaded", boot);
})();
