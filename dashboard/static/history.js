// eccentrix dashboard, history: past sessions, their sets, and strength over the weeks.
"use strict";

const past = { sessions: [] };

async function loadHistory() {
  const [sessions, exercises] = await Promise.all([api("GET", "/api/sessions"), api("GET", "/api/exercises")]);
  past.sessions = sessions;
  const chosen = $("#progress-exercise").value;
  const options = exercises.map((e) => `<option value="${escapeHtml(e)}">${escapeHtml(e)}</option>`).join("");
  $("#progress-exercise").innerHTML = `<option value="">every exercise</option>${options}`;
  $("#progress-exercise").value = exercises.includes(chosen) ? chosen : exercises[0] || "";
  const workouts = [...new Set(sessions.map((s) => s.workout).filter(Boolean))];
  const workout = $("#history-workout").value;
  $("#history-workout").innerHTML = `<option value="">any or none</option>` +
    workouts.map((w) => `<option value="${escapeHtml(w)}">${escapeHtml(w)}</option>`).join("");
  $("#history-workout").value = workouts.includes(workout) ? workout : "";
  await exerciseChosen();
}

// The sessions of the chosen exercise and workout (a workout's blocks are a session each).
function chosenSessions() {
  const exercise = $("#progress-exercise").value;
  const workout = $("#history-workout").value;
  return past.sessions.filter((s) => (!exercise || s.exercise.split(", ").includes(exercise)) && (!workout || s.workout === workout));
}

// One exercise: its sessions, its records and its trend; or every session of every exercise.
async function exerciseChosen() {
  const exercise = $("#progress-exercise").value;
  showSessions(chosenSessions());
  $("#records").innerHTML = "";
  $("#progress-chart").innerHTML = "";
  if (!exercise) return;
  $("#strength-exercise").value = exercise;
  const progress = await api("GET", `/api/progress?exercise=${encodeURIComponent(exercise)}`);
  $("#records").innerHTML = progress.records.map((r) => {
    const value = r.unit === "kg" ? `${inUnit(r.value)} ${unit()}` : plural(r.value, "rep");
    return `<li><strong>${escapeHtml(r.what)}</strong>: ${value} <span class="hint">(${new Date(r.started).toLocaleDateString()})</span></li>`;
  }).join("");
  progressChart(progress);
}

function progressChart(progress) {
  const points = progress.sessions;
  if (points.length === 0) return;
  const when = points.map((p) => Date.parse(p.started) / 1000);
  const kg = (value) => (value === null ? null : inUnit(value));
  new uPlot({
    title: `${progress.exercise} over the weeks`, width: Math.min(720, document.body.clientWidth - 40), height: 240,
    scales: { y: FROM_ZERO, v: FROM_ZERO },
    axes: [{ stroke: "#93a1ad" }, { stroke: "#93a1ad", label: unit() }, { scale: "v", side: 1, stroke: "#93a1ad", label: "m/s", grid: { show: false } }],
    series: [{ label: "day" },
      { label: `heaviest ${unit()}`, stroke: "#3aa0ff", width: 2, points: { show: true } },
      { label: `estimated 1RM ${unit()}`, stroke: "#ffd24d", width: 0, points: { show: true, size: 8 } },
      { label: "best speed m/s", stroke: "#4dd68c", scale: "v", points: { show: true } }],
  }, [when, points.map((p) => kg(p.top_load_kg)), points.map((p) => kg(p.one_rm_kg)), points.map((p) => p.best_velocity_mps)],
  $("#progress-chart"));
}

function showSessions(sessions) {
  $("#session-table tbody").innerHTML = sessions.map((s) =>
    `<tr><td>${s.id}</td><td>${new Date(s.started).toLocaleString()}</td><td>${escapeHtml(s.workout || "-")}</td><td>${escapeHtml(s.exercise || "-")}</td><td>${s.person || "-"}</td><td>${s.sets}</td><td>${s.reps}</td>
     <td><button data-session="${s.id}">Open</button> <a href="/api/sessions/${s.id}/export.csv">CSV</a></td></tr>`).join("");
}

async function openSession(id) {
  const session = await api("GET", `/api/sessions/${id}`);
  const detail = $("#session-detail");
  detail.innerHTML = `<h3>Session ${id}</h3>`;
  for (const set of session.sets) {
    const box = document.createElement("div");
    detail.append(box);
    const reps = set.reps.map((r) => r.index);
    new uPlot({
      title: `set ${set.number}: ${set.profile}, ${fmt(set.load_kg, 1)} kg`, width: Math.min(520, document.body.clientWidth - 40), height: 220,
      scales: { x: { time: false }, v: { auto: true } },
      axes: [{ stroke: "#93a1ad" }, { stroke: "#93a1ad", label: "N" }, { scale: "v", side: 1, stroke: "#93a1ad", label: "m/s" }],
      series: [{ label: "rep" },
        { label: "mean force up N", stroke: "#ffd24d", points: { show: true } },
        { label: "mean force down N", stroke: "#3aa0ff", points: { show: true } },
        { label: "MCV m/s", stroke: "#4dd68c", scale: "v", points: { show: true } }],
    }, [reps, set.reps.map((r) => r.mean_concentric_force_n), set.reps.map((r) => r.mean_eccentric_force_n),
      set.reps.map((r) => r.mean_concentric_velocity_mps)], box);
  }
}

async function estimateStrength(event) {
  event.preventDefault();
  const exercise = $("#strength-exercise").value.trim();
  const result = $("#strength-result");
  $("#strength-chart").innerHTML = "";
  try {
    const doc = await api("GET", `/api/strength?exercise=${encodeURIComponent(exercise)}`);
    result.textContent = `Estimated 1RM ${fmt(doc.one_rm_kg, 1)} kg (+/- ${fmt(doc.one_rm_sd_kg, 1)} kg), ` +
      `where your speed would fall to ${fmt(doc.mvt_mps, 2)} m/s, from ${doc.points.length} sets in the last four weeks`;
    const loads = doc.points.map((p) => p.load_kg).concat([doc.one_rm_kg]).sort((a, b) => a - b);
    const measured = new Map(doc.points.map((p) => [p.load_kg, p.velocity_mps]));
    new uPlot({
      title: `${doc.exercise}: load-velocity profile`, width: Math.min(520, document.body.clientWidth - 40), height: 220,
      scales: { x: { time: false } },
      axes: [{ stroke: "#93a1ad", label: "kg" }, { stroke: "#93a1ad", label: "m/s" }],
      series: [{ label: "load kg" },
        { label: "best MCV m/s", stroke: "#4dd68c", width: 0, points: { show: true, size: 8 } },
        { label: "profile m/s", stroke: "#93a1ad" }],
    }, [loads, loads.map((l) => measured.has(l) ? measured.get(l) : null),
      loads.map((l) => doc.intercept_mps + doc.slope_mps_per_kg * l)], $("#strength-chart"));
  } catch (error) {
    result.textContent = error.message;
  }
}

function wireHistory() {
  $("#session-table").addEventListener("click", (e) => { if (e.target.dataset.session) openSession(e.target.dataset.session); });
  $("#strength-form").addEventListener("submit", estimateStrength);
  $("#progress-exercise").addEventListener("change", exerciseChosen);
  $("#history-workout").addEventListener("change", () => showSessions(chosenSessions()));
}

wireHistory();
