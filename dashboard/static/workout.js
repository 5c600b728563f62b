// eccentrix dashboard, workouts: pick a routine, adjust today's loads, start it; its progress and
// rest timer come with the machine's status.
"use strict";

const workouts = { list: [] };

async function loadWorkouts() {
  workouts.list = await api("GET", "/api/workouts");
  $("#workout").innerHTML = workouts.list.map((w) => `<option value="${w.file}">${w.name}</option>`).join("");
  workoutChosen();
}

function workoutChosen() {
  const workout = workouts.list.find((w) => w.file === $("#workout").value);
  if (!workout) return;
  $("#workout-description").textContent = `${workout.description} (eccentric overload spaced ${workout.overload_spacing_days} days)`;
  const lb = $("#unit").value === "lb";
  $("#workout-steps tbody").replaceChildren(...workout.steps.map((step, i) => {
    const row = document.createElement("tr");
    const sets = `${step.sets || 1} x ${step.reps || "-"}`;
    for (const text of [step.exercise, step.kind.replace("_", " "), sets, step.warmup ? "yes" : "-"]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    const load = document.createElement("input");
    Object.assign(load, { type: "number", min: "0.5", step: lb ? "1" : "0.5", id: `workout-load-${i}` });
    load.value = lb ? Math.round(step.load_kg * LB_PER_KG) : step.load_kg;
    const cell = document.createElement("td");
    cell.append(load, ` ${lb ? "lb" : "kg"}`);
    row.insertBefore(cell, row.children[2]);
    return row;
  }));
}

async function startWorkout(event) {
  event.preventDefault();
  const workout = workouts.list.find((w) => w.file === $("#workout").value);
  const loads = workout.steps.map((_, i) => Number($(`#workout-load-${i}`).value));
  const message = $("#workout-message");
  try {
    const reply = await api("POST", "/api/workout/start", { workout: workout.file, loads, unit: $("#unit").value });
    message.className = reply.note ? "warning" : "";
    message.textContent = reply.note ? `started. Note: ${reply.note}` : "started: take the handle and hold still";
    if (!reply.note) showTab("live");
  } catch (error) {
    message.className = "error";
    message.textContent = error.message;
  }
}

function workoutText(w) {
  if (!w) return "-";
  const rest = w.rest_left_s > 0 ? `, rest ${w.rest_left_s.toFixed(0)} s, next ${w.next}` : "";
  return `${w.name}: ${w.label} (${w.block}/${w.blocks})${rest}`;
}

function blockSummary(done) {
  const parts = [`${done.exercise || done.profile}: ${plural(done.reps, "rep")}`];
  if (typeof done.converged_eccentric_kg === "number") {
    parts.push(`lowering load converged to ${done.converged_eccentric_kg.toFixed(1)} kg`);
  }
  $("#block-summary").textContent = parts.join(", ");
  if ($("#tab-history").classList.contains("active")) loadHistory();  // the set just filed joins the list
}

function wireWorkouts() {
  $("#workout").addEventListener("change", workoutChosen);
  $("#unit").addEventListener("change", workoutChosen);
  $("#workout-form").addEventListener("submit", startWorkout);
}

wireWorkouts();
