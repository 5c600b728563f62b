// eccentrix dashboard, the training screen: what a lifter reads from 2 m and hears without looking.
// The count is reps done (a rep counts once it is over); the phase is a colour; each rep's speed is
// a bar against a target zone; the summary comes when the set is over. Sound, light screen and the
// unit are remembered on this device.
"use strict";

const PHASE_WORDS = { concentric: "Lift", eccentric: "Lower", top: "Hold", rest: "Ready" };
// Velocity-based training's usual cut-off: a rep more than 20 % slower than the set's best is
// leaving the zone. A profile's own stop_at_velocity_loss_pct, where it has one, sets the zone.
const DEFAULT_LOSS_ZONE_PCT = 20;
const BEEP_HZ = 880;
const LAST_BEEP_HZ = 1320;
const SLACK_RESUME_MS = 600;  // the control loop resumes a slack cut within 0.5 s (set_lifecycle.py)

const trainer = { reps: [], phase: "rest", sound: false, audio: null, beeps: 0, said: [], countdown: null, awake: null, asked: false, asking: false };

// -- the count, the phase, the load --------------------------------------------------------------
function trainerStatus(s) {
  const profile = s.profile;
  trainer.flywheel = Boolean(profile && profile.kind === "flywheel");
  const spinUp = trainer.flywheel && profile.flywheel.pre_reps ? ` after ${profile.flywheel.pre_reps} to spin up` : "";
  $("#rep-target").textContent = profile && profile.reps ? `of ${profile.reps}${spinUp}` : "";
  $("#trainer-set").textContent = s.sets ? `${s.set_index} of ${s.sets}` : "-";
  $("#trainer-load").textContent = loadText(s.loads_kg);
  trainer.tempo = profile ? profile.tempo : null;
  trainer.lossZonePct = (profile && profile.stop_at_velocity_loss_pct) || DEFAULT_LOSS_ZONE_PCT;
  const stopped = Boolean(s.estop || s.fault);
  const word = stopped ? "Stopped" : s.set_state === "resting" ? `Rest ${s.rest_left_s.toFixed(0)} s`
    : s.set_state === "idle" && s.armed ? "Hold still" : s.set_state === "done" ? "Done" : null;
  showPhase(stopped ? "stopped" : word ? "rest" : trainer.phase, word);
  keepAwake(s.sets > 0 && !s.estop && !["done", "stopped"].includes(s.set_state));
}

function loadText(loads) {
  if (!loads) return "-";
  const [up, down] = loads.map(inUnit);
  return Math.abs(up - down) < 0.5 ? `${up} ${unit()}` : `${up} ${unit()} up, ${down} ${unit()} down`;
}

function unit() {
  return $("#unit").value;
}

function inUnit(kg) {
  return unit() === "lb" ? Math.round(kg * LB_PER_KG) : Math.round(kg * 2) / 2;
}

function trainerFrame(m) {
  if (m.phase === trainer.phase) return;
  trainer.phase = m.phase;
  const running = ["active", "finishing", "loading"].includes(m.set_state);
  showPhase(m.phase, running ? null : $("#phase-word").textContent);
  if (m.phase === "eccentric" && trainer.tempo && trainer.tempo.eccentric_s) startCountdown(trainer.tempo.eccentric_s);
  else stopCountdown();
}

function showPhase(phase, word) {
  $("#trainer").dataset.phase = phase;
  $("#phase-word").textContent = word || PHASE_WORDS[phase] || phase;
}

// The lowering's tempo, counted down second by second (a beep each, a higher one at the end).
function startCountdown(seconds) {
  stopCountdown();
  let left = Math.round(seconds);
  const tick = () => {
    $("#countdown").textContent = left > 0 ? String(left) : "";
    beep(left > 0 ? BEEP_HZ : LAST_BEEP_HZ);
    if (left-- <= 0) stopCountdown();
  };
  tick();
  trainer.countdown = setInterval(tick, 1000);
}

function stopCountdown() {
  clearInterval(trainer.countdown);
  trainer.countdown = null;
  $("#countdown").textContent = "";
}

// -- reps, their speed, the set's summary --------------------------------------------------------
function trainerNewSet() {
  trainer.reps = [];
  $("#trainer-tut").textContent = "0 s";
  drawBars();
}

function trainerRep(r, done) {
  trainer.reps.push(r);
  const tut = trainer.reps.reduce((sum, rep) => sum + rep.time_under_tension_s, 0);
  $("#trainer-tut").textContent = `${tut.toFixed(0)} s`;
  $("#set-summary").hidden = true;
  drawBars();
  if (r.pre_rep) say("Spin up.");
  else if (!r.failed) say(String(done));
}

// A rep's bar: its speed, or on a flywheel its power (the figure flywheel training is judged by).
function barFigure(r) {
  return trainer.flywheel ? [r.mean_concentric_power_w, "W", 0] : [r.mean_concentric_velocity_mps, "m/s", 2];
}

function drawBars() {
  const measured = trainer.reps.filter((r) => !r.failed && !r.pre_rep);
  const velocities = measured.map((r) => barFigure(r)[0]);
  const [, units, digits] = barFigure({});
  const best = Math.max(0, ...velocities);
  const top = Math.max(best * 1.25, 0.1);
  const floor = best * (1 - (trainer.lossZonePct || DEFAULT_LOSS_ZONE_PCT) / 100);
  const bars = trainer.reps.map((r) => {
    const [v] = barFigure(r);
    const bar = document.createElement("span");
    bar.className = `bar ${r.failed || r.pre_rep ? "failed" : v >= floor ? "in-zone" : "slow"}`;
    bar.style.height = `${Math.max(2, (100 * v) / top)}%`;
    bar.title = r.pre_rep ? `rep ${r.index}: spin-up` : `rep ${r.index}: ${fmt(v, digits)} ${units}` +
      (trainer.flywheel ? `, down ${fmt(r.peak_eccentric_power_w, 0)} W at peak` : "");
    return bar;
  });
  const zone = document.createElement("span");
  zone.className = "zone";
  zone.style.bottom = `${(100 * floor) / top}%`;
  zone.style.height = `${(100 * (best - floor)) / top}%`;
  $("#velocity-bars").replaceChildren(...(best > 0 ? [zone] : []), ...bars);
  const last = velocities[velocities.length - 1];
  const what = trainer.flywheel ? "power" : "speed";
  $("#velocity-note").textContent = velocities.length
    ? `${what}: best ${fmt(best, digits)}, last ${fmt(last, digits)} ${units}, ${fmt((100 * (best - last)) / best, 0)} % lost` : "";
}

function trainerSetDone(m) {
  stopCountdown();
  const rows = [
    ["Reps", m.failed_reps ? `${m.reps} (+${m.failed_reps} failed)` : m.reps],
    ["Volume", `${inUnit(m.volume_kg)} ${unit()}`],
    ["Time under tension", `${fmt(m.time_under_tension_s, 0)} s`],
    ["Best speed", `${fmt(m.best_velocity_mps)} m/s`],
    ["Mean speed", `${fmt(m.mean_velocity_mps)} m/s`],
    ["Speed lost", `${fmt(m.velocity_loss_pct, 0)} %`],
    ["Down : up", m.eccentric_concentric_ratio ? `${fmt(m.eccentric_concentric_ratio)} : 1` : "-"],
  ];
  if (trainer.flywheel && m.eccentric_concentric_power_ratio) {
    rows.push(["Peak power down : up", `${fmt(m.eccentric_concentric_power_ratio)} : 1`]);
  }
  const title = m.sets > 1 ? `Set ${m.set} of ${m.sets} done` : "Set done";
  const list = rows.map(([k, v]) => `<div><dt>${k}</dt><dd>${v}</dd></div>`).join("");
  $("#set-summary").innerHTML = `<h3>${title}</h3><dl>${list}</dl>`;
  $("#set-summary").hidden = false;
  say(`Set complete. ${plural(m.reps, "rep")}.`);
}

function trainerSafety(event) {
  // A release the hand takes up again at once (slack at the top of a fast light rep) is no news:
  // say it only if the set has not gone on by then.
  if (event.kind === "slack_taken_up") {
    clearTimeout(trainer.tensionOff);
  } else if (event.kind === "release") {
    trainer.tensionOff = setTimeout(() => { stopCountdown(); say("Tension off.", true); }, SLACK_RESUME_MS);
  } else if (["estop", "overspeed_in", "stale", "loop_lag"].includes(event.kind) || event.kind.startsWith("drive_")) {
    stopCountdown();
    say(event.kind === "estop" ? "Stopped." : "Tension off.", true);
  }
}

// -- sound ---------------------------------------------------------------------------------------
function say(text, urgent = false) {
  trainer.said = [...trainer.said.slice(-19), text];
  $("#spoken").textContent = trainer.sound ? `Said: ${text}` : "";  // for eyes too
  if (!trainer.sound || !("speechSynthesis" in window)) return;
  if (urgent || speechSynthesis.speaking) speechSynthesis.cancel();  // never a queue of old counts
  speechSynthesis.speak(new SpeechSynthesisUtterance(text));
}

function beep(hz) {
  if (!trainer.sound || !trainer.audio) return;
  const now = trainer.audio.currentTime;
  const tone = trainer.audio.createOscillator();
  const gain = trainer.audio.createGain();
  tone.frequency.value = hz;
  gain.gain.setValueAtTime(0.2, now);
  gain.gain.exponentialRampToValueAtTime(0.001, now + 0.12);
  tone.connect(gain).connect(trainer.audio.destination);
  tone.start(now);
  tone.stop(now + 0.12);
  trainer.beeps++;
}

function setSound(on) {
  trainer.sound = on;
  // Browsers start audio only from a tap: the one on this button.
  if (on && !trainer.audio && window.AudioContext) trainer.audio = new AudioContext();
  $("#sound").textContent = on ? "Sound on" : "Sound off";
  $("#sound").setAttribute("aria-pressed", String(on));
  saved.set("sound", on);
  if (!on) $("#spoken").textContent = "";
}

// -- the screen: awake during a set, light or dark -----------------------------------------------
async function keepAwake(wanted) {
  if (trainer.asking) return;
  if (!wanted) {
    trainer.asked = false;
    $("#awake").textContent = "";
    if (trainer.awake) await trainer.awake.release();
    return;
  }
  if (trainer.asked) return;  // once a set: a refusal is not asked again twice a second
  trainer.asked = trainer.asking = true;
  try {
    if (!("wakeLock" in navigator)) {
      $("#awake").textContent = "This browser cannot keep the screen on: set its sleep time longer.";
    } else {
      trainer.awake = await navigator.wakeLock.request("screen");
      // Released when the page is hidden; asked again once it is back (see wireTrainer)
      trainer.awake.addEventListener("release", () => { trainer.awake = null; });
      $("#awake").textContent = "The screen stays on during the set.";
    }
  } catch (error) {
    $("#awake").textContent = `The screen may go dark: ${error.message}`;
  } finally {
    trainer.asking = false;
  }
}

function setTheme(theme) {
  document.documentElement.dataset.theme = theme;
  $("#theme").textContent = theme === "light" ? "Dark screen" : "Light screen";
  saved.set("theme", theme);
}

function wireTrainer() {
  $("#sound").addEventListener("click", () => setSound(!trainer.sound));
  $("#theme").addEventListener("click", () => setTheme(document.documentElement.dataset.theme === "light" ? "dark" : "light"));
  const prefersLight = window.matchMedia && matchMedia("(prefers-color-scheme: light)").matches;
  setTheme(saved.get("theme", prefersLight ? "light" : "dark"));
  if (saved.get("sound", false)) setSound(true);  // audio itself waits for the first tap
  document.addEventListener("pointerdown", () => { if (trainer.audio && trainer.audio.state === "suspended") trainer.audio.resume(); });
  document.addEventListener("visibilitychange", () => { if (!document.hidden && !trainer.awake) trainer.asked = false; });
}

wireTrainer();
