// The site's page: its machines (refreshed every 2 s), the people they trained, a person's progress
// and plan (assigned here by a clinician or an admin), the accounts (an admin's); a login form first
// where the site asks for logins.
"use strict";

const $ = (selector) => document.querySelector(selector);
const REFRESH_MS = 2000;

async function get(path) {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text ?? "-";
  if (className) td.className = className;
  return td;
}

function row(...cells) {
  const tr = document.createElement("tr");
  tr.append(...cells);
  return tr;
}

const when = (iso) => (iso ? new Date(iso).toLocaleString() : "-");

function machineRow(m) {
  const link = cell(m.online ? "online" : "offline", m.online ? "pill up" : "pill");
  const fault = m.last_fault ? [m.last_fault.kind, m.last_fault.detail].filter(Boolean).join(": ") : "";
  const s = m.state;
  return row(cell(m.machine), link, cell(s.set_state), cell(s.profile), cell(s.reps_done),
    cell(fault, "fault"), cell(when(m.seen_at)));
}

async function showMachines() {
  const machines = await get("/api/machines");
  $("#machines tbody").replaceChildren(...machines.map(machineRow));
  $("#updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
}

function personRow(p) {
  const button = document.createElement("button");
  button.className = "link";
  button.textContent = p.name;
  button.addEventListener("click", () => showPerson(p.name));
  const name = document.createElement("td");
  name.append(button);
  return row(name, cell(p.machines.join(", ")), cell(p.reps), cell(when(p.last_rep)));
}

async function showPeople() {
  const people = await get("/api/people");
  $("#people tbody").replaceChildren(...people.map(personRow));
}

async function showPerson(name) {
  const blocks = await get(`/api/people/${encodeURIComponent(name)}/blocks`);
  const exercises = [...new Set(blocks.map((b) => b.exercise).filter(Boolean))];
  $("#person-name").textContent = name;
  $("#exercise").replaceChildren(...exercises.map((e) => new Option(e, e)));
  $("#exercise").onchange = () => showProgress(name, $("#exercise").value);
  $("#person").hidden = false;
  await showRecordings(name);
  await showPlan(name);
  if (exercises.length) await showProgress(name, exercises[0]);
}

function recordingRow(r) {
  const link = document.createElement("a");
  link.href = `/api/machines/${encodeURIComponent(r.machine)}/recordings/${encodeURIComponent(r.name)}/file`;
  link.download = r.name;
  link.textContent = "download";
  const get = document.createElement("td");
  get.append(link);
  return row(cell(when(r.started)), cell(r.machine), cell(`${(r.size / 1048576).toFixed(1)} MB`), get);
}

async function showRecordings(name) {
  // A site that keeps no recordings has no such route: the table stays hidden.
  const response = await fetch(`/api/recordings?${new URLSearchParams({ person: name })}`);
  const recordings = response.ok ? await response.json() : [];
  $("#recordings").hidden = recordings.length === 0;
  $("#recordings tbody").replaceChildren(...recordings.map(recordingRow));
}

let me = { name: null, role: null };
const SUPERVISING = ["clinician", "admin"];

async function showPlan(name) {
  // A person with no plan at the site: 404, and the section stays hidden.
  const response = await fetch(`/api/people/${encodeURIComponent(name)}/plan`);
  const plan = response.ok ? await response.json() : null;
  await offerAssigning(name);
  $("#plan").hidden = plan === null;
  if (plan === null) return;
  $("#plan-protocol").textContent = plan.protocol;
  $("#plan tbody").replaceChildren(...plan.decisions.map((d) => row(
    cell(when(d.checked_in)), cell(d.machine), cell(d.session_number), cell(d.stage + 1),
    cell(d.action.replace("_", " ")), cell(d.load_kg.toFixed(1)), cell(d.soreness), cell(d.reason),
    cell(d.source === "offline" ? "by the machine alone" : "by the site"))));
}

async function offerAssigning(name) {
  const form = $("#assign-form");
  form.hidden = !SUPERVISING.includes(me.role);
  if (form.hidden) return;
  if (!$("#assign-protocol").options.length) {
    const protocols = await get("/api/protocols");
    $("#assign-protocol").replaceChildren(...protocols.map((p) => new Option(`${p.title} (${p.weeks} weeks)`, p.name)));
  }
  form.onsubmit = async (event) => {
    event.preventDefault();
    const body = JSON.stringify({ protocol: $("#assign-protocol").value });
    const response = await fetch(`/api/people/${encodeURIComponent(name)}/plan`,
      { method: "PUT", headers: { "Content-Type": "application/json" }, body });
    const answer = await response.json();
    $("#assign-result").textContent = response.ok
      ? `${answer.title}: from ${name}'s next check-in on any machine` : answer.detail;
    await showPlan(name);
  };
}

function accountRow(a) {
  const remove = document.createElement("button");
  remove.className = "link";
  remove.textContent = "remove";
  remove.hidden = a.removed;
  remove.onclick = async () => {
    await fetch(`/api/accounts/${encodeURIComponent(a.name)}`, { method: "DELETE" });
    await showAccounts();
  };
  const action = document.createElement("td");
  action.append(remove);
  return row(cell(a.name), cell(a.removed ? `${a.role}, removed` : a.role), cell(when(a.changed_at)), action);
}

async function showAccounts() {
  $("#accounts").hidden = me.role !== "admin";
  if (me.role !== "admin") return;
  const accounts = await get("/api/accounts");
  $("#accounts tbody").replaceChildren(...accounts.map(accountRow));
}

$("#account-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("#account-name").value;
  const body = JSON.stringify({ role: $("#account-role").value, password: $("#account-password").value });
  const response = await fetch(`/api/accounts/${encodeURIComponent(name)}`,
    { method: "PUT", headers: { "Content-Type": "application/json" }, body });
  const answer = await response.json();
  $("#account-result").textContent = response.ok ? `${name}: saved, sent to every machine` : JSON.stringify(answer.detail);
  if (response.ok) $("#account-password").value = "";
  await showAccounts();
});

async function showProgress(name, exercise) {
  const query = new URLSearchParams({ exercise });
  const report = await get(`/api/people/${encodeURIComponent(name)}/progress?${query}`);
  $("#progress-machines").textContent = report.machines.join(", ") || "-";
  $("#progress tbody").replaceChildren(...report.sessions.map((p) => row(
    cell(p.session), cell(when(p.started)), cell(p.top_load_kg.toFixed(1)), cell(p.reps),
    cell(p.best_velocity_mps.toFixed(2)), cell(p.one_rm_kg === null ? "-" : p.one_rm_kg.toFixed(1)))));
  $("#records").replaceChildren(...report.records.map((r) => {
    const li = document.createElement("li");
    li.textContent = `${r.what}: ${r.value} ${r.unit} (session ${r.session})`;
    return li;
  }));
}

async function loggedIn() {
  me = await get("/api/me");
  const asked = me.logins && !me.name;
  $("#login").hidden = !asked;
  $("#site").hidden = asked;
  $("#logout").hidden = !(me.logins && me.name);
  $("#who").textContent = me.name ? `${me.name} (${me.role})` : "";
  return !asked;
}

async function refresh() {
  try {
    if (await loggedIn()) await Promise.all([showMachines(), showPeople(), showAccounts()]);
  } catch (error) {
    $("#updated").textContent = `not reachable: ${error.message}`;
  }
}

$("#login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = JSON.stringify({ name: $("#login-name").value, password: $("#login-password").value });
  const response = await fetch("/api/login", { method: "POST", headers: { "Content-Type": "application/json" }, body });
  $("#login-error").textContent = response.ok ? "" : (await response.json()).detail;
  if (response.ok) {
    $("#login-password").value = "";
    await refresh();
  }
});

$("#logout").addEventListener("click", async () => {
  await fetch("/api/logout", { method: "POST" });
  await refresh();
});

refresh();
setInterval(refresh, REFRESH_MS);
