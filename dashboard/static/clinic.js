// eccentrix dashboard, rehab: the patient's Today page and the clinician's Clinic page.
"use strict";

// -- patient ---------------------------------------------------------------------------------------
async function checkIn(event) {
  event.preventDefault();
  try {
    const today = await api("POST", "/api/today/checkin", { soreness: Number($("#soreness").value) });
    const p = today.profile;
    $("#today-decision").textContent = `Session ${today.session_number}: ${today.action.replace("_", " ")} (${today.reason})`;
    $("#today-sets").textContent = `${today.stage}: ${p.sets} x ${p.reps} at ${p.load_kg} kg, lower in ${p.tempo.eccentric_s} s` +
      (today.effort ? `, effort ${today.effort}` : "");
    $("#today-plan").hidden = false;
    $("#today-message").textContent = "";
  } catch (error) {
    $("#today-message").textContent = error.message;
  }
}

async function startToday() {
  try {
    await api("POST", "/api/today/start");
    $("#today-message").textContent = "starting: take the handle and hold still";
  } catch (error) {
    $("#today-message").textContent = error.message;
  }
}

// -- clinician -------------------------------------------------------------------------------------
async function loadClinic() {
  try {
    const [patients, protocols] = await Promise.all([api("GET", "/api/patients"), api("GET", "/api/protocols")]);
    const body = $("#patient-table tbody");
    body.replaceChildren(...patients.map((p) => {
      const row = document.createElement("tr");
      const caps = p.caps ? Object.entries(p.caps).map(([k, v]) => `${k} ${v}`).join(", ") : "-";
      for (const text of [p.name, p.protocol || "-", caps]) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.append(cell);
      }
      const link = document.createElement("a");
      link.href = `/api/patients/${encodeURIComponent(p.name)}/report`;
      link.target = "_blank";
      link.textContent = "progress report";
      const cell = document.createElement("td");
      cell.append(link);
      row.append(cell);
      return row;
    }));
    const chosen = $("#clinic-patient").value;
    state.patients = patients;
    $("#clinic-patient").replaceChildren(...patients.map((p) => new Option(p.name, p.name)));
    if (patients.some((p) => p.name === chosen)) $("#clinic-patient").value = chosen;
    fillCaps();
    $("#clinic-protocol").replaceChildren(...protocols.map((p) => new Option(`${p.title} (${p.weeks} weeks)`, p.name)));
  } catch (error) {
    $("#clinic-message").textContent = error.message;
  }
}

async function clinicAction(event, method, path, body) {
  event.preventDefault();
  try {
    const reply = await api(method, path, body);
    $("#clinic-message").textContent = reply.note || "done";
    await loadClinic();
  } catch (error) {
    $("#clinic-message").textContent = error.message;
  }
}

const CAP_FIELDS = { max_concentric_force_n: "#cap-con", max_eccentric_force_n: "#cap-ecc", max_speed_mps: "#cap-speed",
  max_eccentric_pct: "#cap-pct", rom_min_m: "#cap-rom-min", rom_max_m: "#cap-rom-max" };

function chosenPatient() {
  return (state.patients || []).find((p) => p.name === $("#clinic-patient").value);
}

// The form shows the patient's caps as they are; what is sent is only what changed.
function fillCaps() {
  const caps = (chosenPatient() || {}).caps || {};
  for (const [key, selector] of Object.entries(CAP_FIELDS)) $(selector).value = caps[key] ?? "";
}

function capsText(caps) {
  const shown = Object.entries(caps).filter(([k]) => k in CAP_FIELDS);
  return shown.length ? shown.map(([k, v]) => `${k} ${v}`).join(", ") : "none";
}

async function changeCaps(event) {
  event.preventDefault();
  const current = (chosenPatient() || {}).caps || {};
  const change = { set: {}, remove: [] };
  for (const [key, selector] of Object.entries(CAP_FIELDS)) {
    const typed = $(selector).value;
    if (typed === "" && current[key] !== undefined) change.remove.push(key);
    else if (typed !== "" && Number(typed) !== current[key]) change.set[key] = Number(typed);
  }
  if (change.remove.length && !confirm(`Remove ${change.remove.join(", ")} for ${$("#clinic-patient").value}?`)) return;
  try {
    const reply = await api("PATCH", `/api/patients/${encodeURIComponent($("#clinic-patient").value)}/caps`, change);
    $("#clinic-message").textContent = `caps were ${capsText(reply.before)}; now ${capsText(reply.after)} (${reply.note})`;
    await loadClinic();
  } catch (error) {
    $("#clinic-message").textContent = error.message;
  }
}

function wireClinic() {
  $("#soreness").addEventListener("input", (e) => { $("#soreness-value").textContent = e.target.value; });
  $("#checkin-form").addEventListener("submit", checkIn);
  $("#today-start").addEventListener("click", startToday);
  $("#patient-stop").addEventListener("click", () => control("/api/estop", $("#today-message")));
  const patient = () => encodeURIComponent($("#clinic-patient").value);
  $("#assign-form").addEventListener("submit", (e) =>
    clinicAction(e, "PUT", `/api/patients/${patient()}/plan`, { protocol: $("#clinic-protocol").value }));
  $("#caps-form").addEventListener("submit", changeCaps);
  $("#clinic-patient").addEventListener("change", fillCaps);
}

wireClinic();
