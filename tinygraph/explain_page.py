"""The page `explain_backward` writes: plain HTML, CSS and JavaScript around the inlined graph and the steps.

`$title`, `$svg` and `$steps` (JSON, with `<` escaped) are filled in with `string.Template`. The page needs no
server and no network. It opens at `#step=N` (1-based) when the address has it, so that a screenshot can show any
step; the slider, the buttons and the arrow keys (Home and End too) move through the steps.
"""
import string

PAGE = string.Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>$title</title>
<style>
  html, body { margin: 0; height: 100%; font: 14px/1.4 Helvetica, Arial, sans-serif; color: #222; }
  body { display: flex; flex-direction: column; }
  header { padding: 8px 14px; border-bottom: 1px solid #ccc; background: #f7f7f7; }
  header h1 { font-size: 16px; margin: 0 0 4px 0; }
  header .controls { display: flex; align-items: center; gap: 10px; }
  header input[type=range] { flex: 1; }
  main { flex: 1; display: flex; min-height: 0; }
  #graph { flex: 1; overflow: auto; padding: 8px; }
  #graph svg { max-width: 100%; height: auto; }
  #panel { width: 400px; overflow: auto; padding: 10px 14px; border-left: 1px solid #ccc; }
  #panel h2 { font-size: 15px; margin: 4px 0 8px 0; }
  #panel h3 { font-size: 13px; margin: 12px 0 4px 0; color: #555; text-transform: uppercase; letter-spacing: .04em; }
  #panel .value { font-family: Menlo, Consolas, monospace; font-size: 12px; white-space: pre-wrap;
                  word-break: break-word; background: #f3f3f3; padding: 4px 6px; border-radius: 3px; }
  #panel .rule { font-family: Menlo, Consolas, monospace; font-size: 12px; background: #eef4fb; padding: 4px 6px; }
  #panel .to { margin-top: 6px; font-weight: bold; }
  .legend span { display: inline-block; padding: 0 6px; margin-right: 6px; border: 3px solid; border-radius: 3px; }
  g.node.done > polygon, g.node.done > path, g.node.done > ellipse { stroke: #6aa84f; stroke-width: 2px; }
  g.node.receiving > polygon, g.node.receiving > path, g.node.receiving > ellipse {
    stroke: #3d85c6; stroke-width: 4px; fill: #cfe2f3; }
  g.node.current-op > ellipse { stroke: #cc0000; stroke-width: 4px; fill: #f4cccc; }
  g.node.current > polygon, g.node.current > path, g.node.current > ellipse {
    stroke: #cc0000; stroke-width: 5px; fill: #ffe599; }
  g.edge.flow > path { stroke: #cc0000; stroke-width: 3px; }
  g.edge.flow > polygon { stroke: #cc0000; fill: #cc0000; }
</style>
</head>
<body>
<header>
  <h1>$title</h1>
  <div class="controls">
    <button id="prev" title="previous step (left arrow)">&#9664;</button>
    <input id="slider" type="range" min="1" value="1" aria-label="step">
    <button id="next" title="next step (right arrow)">&#9654;</button>
    <span id="counter"></span>
  </div>
  <div class="legend">backward runs from the loss to the inputs, in the engine's order:
    <span style="border-color:#cc0000;background:#ffe599">this step's tensor</span>
    <span style="border-color:#3d85c6;background:#cfe2f3">its inputs, receiving gradients</span>
    <span style="border-color:#6aa84f">done</span> &larr; &rarr; keys step</div>
</header>
<main>
  <div id="graph">$svg</div>
  <div id="panel"></div>
</main>
<script type="application/json" id="steps">$steps</script>
<script>
"use strict";
const steps = JSON.parse(document.getElementById("steps").textContent);
const nodes = {}, edges = {};
document.querySelectorAll("#graph g.node").forEach(g => { nodes[g.querySelector("title").textContent] = g; });
document.querySelectorAll("#graph g.edge").forEach(g => { edges[g.querySelector("title").textContent] = g; });
const slider = document.getElementById("slider"), panel = document.getElementById("panel");
slider.max = steps.length;
let current = 0;

function add(parent, tag, text, cls) {
  const el = document.createElement(tag);
  el.textContent = text;
  if (cls) el.className = cls;
  parent.appendChild(el);
  return el;
}

function mark(id, cls) { if (nodes[id]) nodes[id].classList.add(cls); }

function show(index) {
  current = Math.max(0, Math.min(steps.length - 1, index));
  const step = steps[current];
  document.querySelectorAll("#graph .current, #graph .current-op, #graph .receiving, #graph .done, #graph .flow")
    .forEach(el => el.classList.remove("current", "current-op", "receiving", "done", "flow"));
  for (let i = 0; i < current; i++) { mark(steps[i].node, "done"); if (steps[i].op) mark(steps[i].op, "done"); }
  step.sends.forEach(s => {
    mark(s.to, "receiving");
    if (edges[s.to + "->" + step.op]) edges[s.to + "->" + step.op].classList.add("flow");
  });
  if (step.op) {
    mark(step.op, "current-op");
    if (edges[step.op + "->" + step.node]) edges[step.op + "->" + step.node].classList.add("flow");
  }
  mark(step.node, "current");
  document.body.dataset.step = current + 1;
  document.body.dataset.node = step.node;
  slider.value = current + 1;
  document.getElementById("counter").textContent = "step " + (current + 1) + " of " + steps.length;
  panel.textContent = "";
  add(panel, "h2", step.heading);
  add(panel, "h3", "gradient arriving here");
  add(panel, "div", step.arriving, "value");
  add(panel, "h3", step.op ? "local rule of " + step.opname : "leaf");
  add(panel, "div", step.rule, "rule");
  if (step.sends.length) add(panel, "h3", "gradients sent to its inputs");
  step.sends.forEach(s => { add(panel, "div", s.label, "to"); add(panel, "div", s.text, "value"); });
  if (nodes[step.node]) nodes[step.node].scrollIntoView({block: "center", inline: "center"});
  if (location.hash !== "#step=" + (current + 1)) history.replaceState(null, "", "#step=" + (current + 1));
}

function fromAddress() {
  const m = /step=(\\d+)/.exec(location.hash);
  return m ? parseInt(m[1], 10) - 1 : 0;
}

slider.addEventListener("input", () => show(parseInt(slider.value, 10) - 1));
document.getElementById("prev").addEventListener("click", () => show(current - 1));
document.getElementById("next").addEventListener("click", () => show(current + 1));
document.addEventListener("keydown", e => {
  const moves = {ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1};
  if (e.key in moves) show(current + moves[e.key]);
  else if (e.key === "Home") show(0);
  else if (e.key === "End") show(steps.length - 1);
  else return;
  e.preventDefault();  // the slider and the page would move too
});
window.addEventListener("hashchange", () => show(fromAddress()));
show(fromAddress());
</script>
</body>
</html>
""")
