// eccentrix dashboard, replay: a recording's trace, scrubbed or played, and the same set replayed in
// the simulator under another profile.
"use strict";

async function loadRecordings() {
  const recordings = await api("GET", "/api/recordings");
  $("#recording").innerHTML = recordings.map((r) => `<option>${r.name}</option>`).join("");
}

// Time from the trace's own start; `seconds` puts two charts on one time axis.
function traceChart(element, title, trace, seconds) {
  element.innerHTML = "";
  const width = Math.min(540, document.body.clientWidth - 40);
  const start = trace.time_s.length ? trace.time_s[0] : 0;
  const options = chartOptions(title, width);
  if (seconds) options.scales.x = { time: false, range: [0, seconds] };
  const time = trace.time_s.map((t) => t - start);
  return new uPlot(options, [time, trace.felt_tension_n, trace.command_n, trace.position_m], element);
}

function lasts(trace) {
  return trace.time_s.length ? trace.time_s[trace.time_s.length - 1] - trace.time_s[0] : 0;
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
  const seconds = replay.trace.time_s[replay.index] - replay.trace.time_s[0];  // as the chart counts
  $("#scrub-time").textContent = `${fmt(seconds, 1)} s`;
  const left = replay.chart.valToPos(seconds, "x");
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
  const button = $("#run-whatif");
  // The simulation takes seconds: say it is working, and for how long already
  const began = performance.now();
  const ticking = setInterval(() => {
    message.textContent = `replaying the set in the simulator... ${((performance.now() - began) / 1000).toFixed(0)} s`;
  }, 250);
  message.textContent = "replaying the set in the simulator...";
  button.disabled = true;
  try {
    const doc = await api("POST", `/api/recordings/${encodeURIComponent(name)}/what-if`, { profile: $("#whatif-profile").value });
    const original = await api("GET", `/api/recordings/${encodeURIComponent(name)}/trace`);
    const seconds = Math.max(lasts(original.trace), lasts(doc.trace));
    state.whatif = {
      original: traceChart($("#whatif-original"), `recorded: ${doc.original_profile}`, original.trace, seconds),
      replayed: traceChart($("#whatif-replayed"), `replayed: ${doc.profile}`, doc.trace, seconds),
    };
    const rows = doc.replayed.map((r, i) => {
      const was = doc.original[i] || {};
      return `<tr><td>${r.index}</td><td>${fmt(was.mean_eccentric_force_n, 0)}</td><td>${fmt(r.mean_eccentric_force_n, 0)}</td>
        <td>${fmt(was.mean_concentric_force_n, 0)}</td><td>${fmt(r.mean_concentric_force_n, 0)}</td></tr>`;
    });
    $("#whatif-table tbody").innerHTML = rows.join("");
    clearInterval(ticking);
    message.textContent = `${plural(doc.replayed.length, "rep")} replayed`;
  } catch (error) {
    clearInterval(ticking);
    message.textContent = error.message;
  } finally {
    button.disabled = false;
  }
}

function wireReplay() {
  $("#open-recording").addEventListener("click", openRecording);
  $("#play").addEventListener("click", togglePlay);
  $("#scrub").addEventListener("input", (e) => scrubTo(Number(e.target.value)));
  $("#run-whatif").addEventListener("click", runWhatIf);
}

wireReplay();
