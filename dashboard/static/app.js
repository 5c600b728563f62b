// eccentrix dashboard: one page, plain JavaScript, charts by uPlot (served locally from npm).
"use strict";

const $ = (selector) => document.querySelector(selector);
const LIVE_WINDOW_S = 10;
const LB_PER_KG = 1 / 0.45359237;
const state = { me: null, profiles: [], status: null, socket: null, live: null, replay: null };

// What this device remembers: unit, theme, sound, the last settings of each profile.
const saved = {
  get(key, fallback) {
    try {
      const value = localStorage.getItem(`eccentrix.${key}`);
      return value === null ? fallback : JSON.parse(value);
    } catch {
      return fallback;  // storage off (private mode) or a value from an older page
    }
  },
  set(key, value) {
    try { localStorage.setItem(`eccentrix.${key}`, JSON.stringify(value)); } catch { /* storage off: nothing kept */ }
  },
};

async function api(method, path, body) {
  const options = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    throw new Error(data && data.detail ? sentences(data.detail) : response.statusText);
  }
  return data;
}

// What a lifter or patient reads: what happened and what to do next. The engineer's wording stays
// one tap away (the title of the line, the Machine tab).
const PLAIN = {
  estop: "Stopped: all tension is off. Press Reset once the handle is at rest.",
  release: "The handle was let go, or the cable went slack: tension is off. Take the handle and hold it still to go on.",
  overspeed_in: "The cable came in too fast: tension is off. Take the handle and hold it still to go on.",
  slack_taken_up: "The cable went slack for a moment and your hand took it up: the set goes on.",
  overspeed_out: "The handle went out too fast: the tension is held where it was. Move more slowly.",
  stale: "The machine lost contact with its motor: tension is off. Wait, or ask staff if it repeats.",
  capped: "You reached your limit: the machine holds the tension there.",
  feel_ringing: "The weight feel was switched off for this set: the set goes on. Tell staff: the machine's settings need a look.",
  store_failed: "This set is not saved yet. The machine keeps it and tries again; nothing to do.",
  loop_lag: "The machine fell behind and stopped to be safe. Press Reset at rest to go on; tell staff if it repeats.",
  loop_lag_unloaded: "The machine fell behind while nothing was loaded: nothing to do.",
  drive_link_lost: "The machine lost its motor: tension is off. Tell staff.",
  drive_alarm: "The motor reported a fault: tension is off. Tell staff.",
  drive_fault: "The motor reported a fault: tension is off. Tell staff.",
  drive_implausible: "The motor's readings made no sense: tension is off. Tell staff.",
  overload_spacing: "Heavy negatives again so soon: your muscles may not have recovered. Consider a lighter day.",
};

function plainly(kind, detail) {
  return PLAIN[kind] || `${kind.replaceAll("_", " ")}${detail ? `: ${detail}` : ""}`;
}

// A 422's list of {loc, msg} as sentences, never raw JSON.
function sentences(detail) {
  if (typeof detail === "string") return detail;
  if (!Array.isArray(detail)) return JSON.stringify(detail);
  return detail.map((e) => `${(e.loc || []).filter((p) => p !== "body").join(".") || "request"}: ${e.msg}`).join("; ");
}

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

function fmt(value, digits = 2) {
  return typeof value === "number" && isFinite(value) ? value.toFixed(digits) : "-";
}

// -- login and tabs ------------------------------------------------------------------------------
async function login(event) {
  event.preventDefault();
  try {
    state.me = await api("POST", "/api/login", { name: $("#login-name").value, password: $("#login-password").value });
    await enter();
  } catch (error) {
    $("#login-error").textContent = error.message;
  }
}

async function enter() {
  // Only the tabs of this role, from the first moment the navigation shows
  document.querySelectorAll("nav button[data-roles]").forEach((b) => { b.hidden = !b.dataset.roles.split(" ").includes(state.me.role); });
  $("#login-view").hidden = true;
  $("#tabs").hidden = false;
  // The landing tab now, not once the lists below are in: a tab tapped meanwhile stays (under a
  // CPU hog the caps test tapped Clinic and was sent back to Set up)
  showTab(state.me.role === "patient" ? "today" : "setup");
  $("#who").textContent = `${state.me.name} (${state.me.role})`;
  $("#unit").value = saved.get("unit", "kg") === "lb" ? "lb" : "kg";
  $("#load").step = $("#unit").value === "lb" ? "1" : "0.5";
  connectTelemetry();
  state.profiles = await api("GET", "/api/profiles");
  fillProfiles();
  await loadWorkouts();
}

function showTab(name) {
  document.querySelectorAll(".tab").forEach((tab) => tab.classList.toggle("active", tab.id === `tab-${name}`));
  document.querySelectorAll("nav button[data-tab]").forEach((b) => b.classList.toggle("active", b.dataset.tab === name));
  if (name === "live") ensureLiveChart();
  if (name === "history") loadHistory();
  if (name === "replay") loadRecordings();
  if (name === "clinic") loadClinic();
}

// -- machine control -----------------------------------------------------------------------------
async function control(path, messageElement) {
  try {
    const reply = await api("POST", path);
    if (messageElement) messageElement.textContent = reply.note || "done";
  } catch (error) {
    if (messageElement) messageElement.textContent = error.message;
    else alert(error.message);
  }
}

function fillProfiles() {
  const options = state.profiles.map((p) => `<option value="${p.file}">${escapeHtml(p.title || p.name)}</option>`).join("");
  $("#profile").innerHTML = options;
  $("#whatif-profile").innerHTML = options;
  const preferred = [saved.get("profile"), "eccentric-overload-130"].find((f) => state.profiles.some((p) => p.file === f));
  if (preferred) $("#profile").value = preferred;
  profileChosen();
}

function profileChosen() {
  const profile = state.profiles.find((p) => p.file === $("#profile").value);
  if (!profile) return;
  const lb = $("#unit").value === "lb";
  $("#profile-description").textContent = profile.description;
  $("#load").value = lb ? (profile.load_kg * LB_PER_KG).toFixed(0) : profile.load_kg;
  $("#eccentric-pct").value = profile.eccentric_pct;
  $("#inertia-field").hidden = profile.kind !== "flywheel";
  for (const field of document.querySelectorAll(".tempo-field")) field.hidden = profile.kind === "flywheel";
  if (profile.kind === "flywheel") $("#inertia").value = profile.flywheel.inertia_kgm2;
  $("#reps").value = profile.reps;
  $("#sets").value = profile.sets;
  $("#rest").value = profile.rest_s;
  const tempo = profile.tempo || { concentric_s: 1, pause_s: 0, eccentric_s: 3 };
  $("#tempo-con").value = tempo.concentric_s;
  $("#tempo-pause").value = tempo.pause_s;
  $("#tempo-ecc").value = tempo.eccentric_s;
  const last = saved.get(`set.${profile.file}`);
  if (last) rememberedSettings(last);
}

// The settings this profile's last set on this device started with: a lifter's usual numbers.
function rememberedSettings(last) {
  const lb = $("#unit").value === "lb";
  if (typeof last.load_kg === "number") $("#load").value = lb ? Math.round(last.load_kg * LB_PER_KG) : last.load_kg;
  const fields = { "#eccentric-pct": last.eccentric_pct, "#inertia": last.inertia_kgm2, "#reps": last.reps, "#sets": last.sets, "#rest": last.rest_s,
    "#exercise": last.exercise, "#tempo-con": last.tempo?.concentric_s, "#tempo-pause": last.tempo?.pause_s,
    "#tempo-ecc": last.tempo?.eccentric_s };
  for (const [id, value] of Object.entries(fields)) if (value !== undefined && value !== null) $(id).value = value;
}

function unitChosen() {
  saved.set("unit", $("#unit").value);
  const value = parseFloat($("#load").value);
  if (!isFinite(value)) return;
  const lb = $("#unit").value === "lb";
  // loads go in 1 lb or 0.5 kg steps
  $("#load").value = lb ? Math.round(value * LB_PER_KG) : Math.round((value / LB_PER_KG) * 2) / 2;
  $("#load").step = lb ? "1" : "0.5";
}

async function startSet(event) {
  event.preventDefault();
  const number = (id) => (($(id).value === "") ? null : Number($(id).value));
  const profile = state.profiles.find((p) => p.file === $("#profile").value);
  const body = {
    profile: $("#profile").value,
    load: number("#load"),
    unit: $("#unit").value,
    reps: number("#reps"),
    sets: number("#sets"),
    rest_s: number("#rest"),
    exercise: $("#exercise").value,
    tempo: { concentric_s: number("#tempo-con"), pause_s: number("#tempo-pause"), eccentric_s: number("#tempo-ecc") },
  };
  // The API sends null for a profile without a fixed eccentric load (undefined never came).
  if (profile && profile.kind === "eccentric_overload" && profile.eccentric_load_kg == null) {
    body.eccentric_pct = number("#eccentric-pct");
  }
  if (profile && profile.kind === "flywheel") {  // the disc sets the pace: no tempo
    body.inertia_kgm2 = number("#inertia");
    delete body.tempo;
  }
  const message = $("#setup-message");
  try {
    await api("POST", "/api/set/start", body);
    const kg = body.unit === "lb" ? body.load / LB_PER_KG : body.load;
    saved.set("profile", body.profile);
    saved.set(`set.${body.profile}`, { ...body, load_kg: Math.round(kg * 2) / 2 });
    message.className = "";
    message.textContent = "set started: take the handle and hold still";
    $("#rep-table tbody").innerHTML = "";
    showTab("live");
  } catch (error) {
    message.className = "error";
    message.textContent = error.message;
  }
}

// -- telemetry -----------------------------------------------------------------------------------
function connectTelemetry() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws/telemetry`);
  state.socket = socket;
  socket.onmessage = (event) => receive(JSON.parse(event.data));
  socket.onclose = () => {
    $("#link").textContent = "dashboard offline";
    $("#link").classList.remove("up");
    if (state.me) setTimeout(connectTelemetry, 1000);
  };
}

function receive(message) {
  switch (message.type) {
    case "status": return showStatus(message);
    case "telemetry": return addSamples(message);
    case "rep": return addRep(message);
    case "set_started": $("#rep-table tbody").innerHTML = ""; return newSet(1);
    case "set_done": return trainerSetDone(message);
    case "safety": return addEvent(message);
    case "warning": return addEvent(message);
    case "block_done": return blockSummary(message);
    default: return;
  }
}

function showStatus(s) {
  state.status = s;
  if (s.sets && state.set && s.set_index > state.set.index) newSet(s.set_index);
  $("#machine").textContent = s.machine;
  const link = $("#link");
  link.textContent = s.drive.link_up ? "drive online" : "drive offline";
  link.classList.toggle("up", s.drive.link_up);
  const faultKind = s.fault ? s.fault.split(":")[0] : null;
  $("#fault").textContent = faultKind ? plainly(faultKind) : s.estop ? PLAIN.estop : "";
  $("#fault").title = s.fault || "";  // the engineer's wording, one tap (or hover) away
  $("#set-index").textContent = s.sets ? `${s.set_index}/${s.sets}` : "-";
  showSetState(s.set_state);
  showToday(s);
  trainerStatus(s);
  $("#workout-now").textContent = workoutText(s.workout);
  $("#skip-rest").hidden = !(s.set_state === "resting" || (s.workout && s.workout.rest_left_s > 0));
  const rows = {
    "Drive": `${s.drive.kind} via ${s.drive.link}`,
    "Link errors": `${s.drive.transient_errors} transient, ${s.drive.reconnects} reconnects`,
    "Fault": s.fault || "none",
    "E-stop latched": s.estop ? "yes" : "no",
    "Set": `${s.set_state}, set ${s.set_index} of ${s.sets || "-"}`,
    "Profile": s.profile ? `${s.profile.name}, ${fmt(s.load_kg, 1)} kg` : s.in_use ? "in use by someone else" : "-",
    "Workout": workoutText(s.workout),
    "Loop": `${s.loop.rate_hz.toFixed(0)} Hz, period p99 ${s.loop.period_p99_us.toFixed(0)} us, missed ${s.loop.missed_deadlines}`,
    "Recording": s.recording || "-",
    "Telemetry dropped": `${s.port.dropped_messages} messages`,
  };
  $("#status-list").innerHTML = Object.entries(rows).map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join("");
}

// Telemetry brings the set's state 50 times a second, the status what to say about it twice a second.
function showSetState(setState) {
  const s = state.status;
  const rest = setState === "resting" ? ` (${s.rest_left_s.toFixed(0)} s)` : "";
  const waiting = setState === "idle" && s.armed ? ": hold the handle still to load" : "";
  $("#set-state").textContent = setState + rest + waiting;
}

// The patient's page says how the set goes as it goes: which set, what now, reps done, the rest left.
function showToday(s) {
  if (!s.sets) {
    $("#today-live").textContent = s.estop ? PLAIN.estop : "";
    return;
  }
  const done = state.set ? state.set.done : 0;
  const now = s.estop ? "stopped" : s.set_state === "resting" ? `rest, ${s.rest_left_s.toFixed(0)} s left` : s.set_state;
  $("#today-live").textContent = `Set ${s.set_index} of ${s.sets}: ${now}, ${plural(done, "rep")} done`;
}

function addEvent(event) {
  const item = document.createElement("li");
  const when = event.time_s === undefined ? "" : `${fmt(event.time_s, 2)} s  `;
  item.textContent = `${when}${plainly(event.kind)}`;
  item.title = `${event.kind} ${event.detail || ""}`;
  $("#events").prepend(item);
  trainerSafety(event);
}

function addSamples(m) {
  const live = state.live || (state.live = { t: [], tension: [], command: [], position: [], dirty: false, frames: 0 });
  for (let i = 0; i < m.t.length; i++) {
    live.t.push(m.t[i]);
    live.tension.push(m.tension_n[i]);
    live.command.push(m.command_n[i]);
    live.position.push(m.position_m[i]);
  }
  const cutoff = live.t[live.t.length - 1] - LIVE_WINDOW_S;
  let drop = 0;
  while (drop < live.t.length && live.t[drop] < cutoff) drop++;
  if (drop) ["t", "tension", "command", "position"].forEach((k) => live[k].splice(0, drop));
  live.dirty = true;
  $("#phase").textContent = m.phase;
  trainerFrame(m);
  $("#tension-now").textContent = m.tension_n[m.tension_n.length - 1].toFixed(0);
  if (state.status) showSetState(m.set_state);
}

// Zero-based: a tension that looks doubled must be doubled.
const FROM_ZERO = { range: (u, min, max) => [Math.min(0, min), max > 0 ? max * 1.05 : 1] };

function chartOptions(title, width) {
  return {
    title, width, height: 300,
    scales: { x: { time: false }, y: FROM_ZERO, m: FROM_ZERO },
    axes: [{ stroke: "#93a1ad", grid: { stroke: "#8884" } },
      { stroke: "#93a1ad", grid: { stroke: "#8884" }, label: "N" },
      { scale: "m", side: 1, stroke: "#93a1ad", grid: { show: false }, label: "m" }],
    series: [{ label: "t (s)" },
      { label: "felt tension N", stroke: "#3aa0ff", width: 2 },
      { label: "command N", stroke: "#ffd24d", width: 1 },
      { label: "position m", stroke: "#4dd68c", scale: "m", width: 1 }],
  };
}

function liveChartWidth() {
  return Math.min(1100, document.body.clientWidth - 40);
}

function ensureLiveChart() {
  if (state.liveChart) return;
  state.liveChart = new uPlot(chartOptions("tension and position", liveChartWidth()), [[], [], [], []], $("#live-chart"));
  // A tablet turned on its side: the chart follows the screen's new width.
  window.addEventListener("resize", () => state.liveChart.setSize({ width: liveChartWidth(), height: 300 }));
  let frames = 0;
  let since = performance.now();
  const draw = (now) => {
    const live = state.live;
    if (live && live.dirty) {
      state.liveChart.setData([live.t, live.tension, live.command, live.position]);
      live.dirty = false;
      frames++;
    }
    if (now - since >= 1000) {
      $("#fps").textContent = frames;
      frames = 0;
      since = now;
    }
    requestAnimationFrame(draw);
  };
  requestAnimationFrame(draw);
}

// The counter shows reps done in this set: a rep counts once it is over, and a failed one not at all.
function newSet(index) {
  state.set = { index, done: 0 };
  $("#rep-count").textContent = "0";
  $("#tempo-cue").textContent = "-";  // the last set's verdict says nothing of this one
  trainerNewSet();
}

function addRep(r) {
  if (!state.set || state.set.index !== r.set) newSet(r.set);
  if (!r.failed && !r.pre_rep) state.set.done += 1;  // a flywheel's spin-up is no rep of the set
  $("#rep-count").textContent = state.set.done;
  trainerRep(r, state.set.done);
  const cue = r.tempo ? r.tempo.cue : "-";
  $("#tempo-cue").textContent = cue;
  const row = document.createElement("tr");
  const cells = [r.set, r.index, fmt(r.concentric_s), fmt(r.eccentric_s), fmt(r.rom_m), fmt(r.mean_concentric_force_n, 0),
    fmt(r.mean_eccentric_force_n, 0), fmt(r.mean_concentric_velocity_mps), fmt(r.mean_propulsive_velocity_mps),
    fmt(r.mean_concentric_power_w, 0),
    fmt(r.velocity_loss_pct, 1), cue];
  row.innerHTML = cells.map((c) => `<td>${c}</td>`).join("");
  $("#rep-table tbody").append(row);
}

async function changePassword(event) {
  event.preventDefault();
  const message = $("#password-message");
  try {
    const done = await api("POST", "/api/password", { current: $("#password-current").value, new: $("#password-new").value });
    message.textContent = done.note;
    event.target.reset();
  } catch (error) {
    message.textContent = error.message;
  }
}

// -- wiring --------------------------------------------------------------------------------------
function wire() {
  $("#login-form").addEventListener("submit", login);
  $("#password-form").addEventListener("submit", changePassword);
  $("#estop").addEventListener("click", () => control("/api/estop", $("#notice")));
  $("#reset").addEventListener("click", () => control("/api/reset", $("#notice")));
  $("#setup-form").addEventListener("submit", startSet);
  $("#stop-set").addEventListener("click", () => control("/api/set/stop", $("#setup-message")));
  $("#skip-rest").addEventListener("click", () => control("/api/set/skip-rest"));
  $("#profile").addEventListener("change", profileChosen);
  $("#unit").addEventListener("change", unitChosen);
  $("#logout").addEventListener("click", async () => { await api("POST", "/api/logout"); location.reload(); });
  document.querySelectorAll("nav button[data-tab]").forEach((b) => b.addEventListener("click", () => showTab(b.dataset.tab)));
  api("GET", "/api/me").then((me) => { state.me = me; return enter(); }).catch(() => {});
}

wire();
