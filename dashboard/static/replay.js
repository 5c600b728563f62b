// eccentrix dashboard, replay: a recording's trace, scrubbed or played, and the same set replayed in
// the simulator under another profile.
"use strict";

// -- replay --------------------------------------------------------------------------------------
async function loadRecordings() {
  const recordings = await api("GET", "/api/recordings");
  $("#recording").innerHTML = recordings.map((r) => `<option>${r.name}</option>`).join("");
}

function traceChart(element, title, trace) {
  element.innerHTML = "";
  const width = Math.min(540, document.body.clientWidth - 40);
  return new uPlot(chartOptions(title, width), [trace.time_s, trace.felt_tension_n, trace.command_n, trace.position_m], element);
}

async function openRecording() {
  const name = $("#recording").value;
  if (!name) return;
  const doc = await api("GET", `/api/recordings/${encodeURIComponent(name)}/trace`);
  state.replay = { trace: doc.trace, playing: false, index: 0 };
  state.replay.chart = traceChart($("#replay-chart"), `${doc.name} (${doc.profile})`, doc.trace);
  $("#scrub").max = doc.trace.time_s.length - 1;
  scrubTo(0);
  $("#isometric-result").textContent = "";
  if (doc.kind === "isometric") {
    const test = await api("GET", `/api/recordings/${encodeURIComponent(name)}/isometric`);
    $("#isometric-result").textContent = `Isometric test: peak ${fmt(test.peak_n, 0)} N, ` +
      `${fmt(test.time_to_peak_s, 2)} s after onset; rate of force development (0-200 ms) ${fmt(test.rfd_n_per_s, 0)} N/s`;
  }
}

function scrubTo(index) {
  const replay = state.replay;
  if (!replay) return;
  replay.index = Math.max(0, Math.min(index, replay.trace.time_s.length - 1));
  $("#scrub").value = replay.index;
  $("#scrub-time").textContent = `${fmt(replay.trace.time_s[replay.index], 1)} s`;
  const left = replay.chart.valToPos(replay.trace.time_s[replay.index], "x");
  replay.chart.setCursor({ left, top: 10 });
}

function togglePlay() {
  const replay = state.replay;
  if (!replay) return;
  replay.playing = !replay.playing;
  $("#play").textContent = replay.playing ? "Pause" : "Play";
  let last = performance.now();
  const tick = (now) => {
    if (!replay.playing) return;
    const t = replay.trace.time_s;
    const target = t[replay.index] + (now - last) / 1000;
    last = now;
    let i = replay.index;
    while (i < t.length - 1 && t[i] < target) i++;
    scrubTo(i);
    if (i >= t.length - 1) { replay.playing = false; $("#play").textContent = "Play"; return; }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

async function runWhatIf() {
  const name = $("#recording").value;
  const message = $("#whatif-message");
  message.textContent = "replaying...";
  try {
    const doc = await api("POST", `/api/recordings/${encodeURIComponent(name)}/what-if`, { profile: $("#whatif-profile").value });
    const original = await api("GET", `/api/recordings/${encodeURIComponent(name)}/trace`);
    traceChart($("#whatif-original"), `recorded: ${doc.original_profile}`, original.trace);
    traceChart($("#whatif-replayed"), `replayed: ${doc.profile}`, doc.trace);
    const rows = doc.replayed.map((r, i) => {
      const was = doc.original[i] || {};
      return `<tr><td>${r.index}</td><td>${fmt(was.mean_eccentric_force_n, 0)}</td><td>${fmt(r.mean_eccentric_force_n, 0)}</td>
        <td>${fmt(was.mean_concentric_force_n, 0)}</td><td>${fmt(r.mean_concentric_force_n, 0)}</td></tr>`;
    });
    $("#whatif-table tbody").innerHTML = rows.join("");
    message.textContent = `${plural(doc.replayed.length, "rep")} replayed`;
  } catch (error) {
    message.textContent = error.message;
  }
}

function wireReplay() {
  $("#open-recording").addEventListener("click", openRecording);
  $("#play").addEventListener("click", togglePlay);
  $("#scrub").addEventListener("input", (e) => scrubTo(Number(e.target.value)));
  $("#run-whatif").addEventListener("click", runWhatIf);
}

wireReplay();
