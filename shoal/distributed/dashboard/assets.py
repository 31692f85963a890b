"""The dashboard's pages: one HTML shell with inline CSS and JavaScript.

No build step and no external script: each page is a complete HTML file.
The script opens ``/api/events`` (server-sent events) and redraws what the
page shows on each update.  Heavy views (task stream, task graph) draw on a
``<canvas>``; small ones (progress per group, worker memory, workers table)
are HTML rebuilt in one ``innerHTML`` assignment per update.  The page keeps
at most ``MAX_EVENTS`` task-stream events, so memory and drawing cost stay
bounded however many tasks run.

Elements carry ids and ``data-`` attributes (``#progress-total``
``data-done``/``data-total``, ``#task-stream`` ``data-count``,
``#workers-table`` rows) that the browser tests read.
"""
from __future__ import annotations

import html
import json

from shoal.diagnostics.svg import PALETTE

__all__ = ["page"]

CSS = r"""
*{box-sizing:border-box}
body{font-family:system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
nav{background:#1c3d5a;color:#fff;padding:8px 16px;display:flex;gap:18px;align-items:center}
nav a{color:#cfe3f5;text-decoration:none;font-size:14px}nav a.active{color:#fff;font-weight:bold}
nav .brand{font-weight:bold;margin-right:12px}
nav .status{margin-left:auto;font-size:13px;color:#cfe3f5}
main{padding:12px 16px;display:grid;grid-template-columns:minmax(0,2fr) minmax(0,1fr);gap:14px}
.card{background:#fff;border:1px solid #ddd;border-radius:4px;padding:8px 10px}
.card h2{font-size:14px;margin:0 0 6px 0}
.wide{grid-column:1 / span 2}
canvas{width:100%;display:block}
.grp{display:grid;grid-template-columns:130px 1fr 240px;gap:6px;align-items:center;font-size:12px;margin:2px 0}
.grp .name{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.bar{height:14px;background:#eee;position:relative;display:flex;overflow:hidden;border-radius:2px}
.bar span{height:100%}
.legend{font-size:11px;color:#555;margin:4px 0}
.legend i{display:inline-block;width:10px;height:10px;margin:0 3px 0 10px;vertical-align:-1px}
table{border-collapse:collapse;font-size:12px;width:100%}
td,th{border-bottom:1px solid #eee;padding:3px 6px;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child,td:nth-child(2),th:nth-child(2){text-align:left}
.mem{display:grid;grid-template-columns:130px 1fr 120px;gap:6px;align-items:center;font-size:12px;margin:2px 0}
#progress-total{font-weight:bold}
.muted{color:#777;font-size:12px}
"""

# Colours: processing/queued/waiting are lighter shades; erred red.
JS = r"""
const CFG = JSON.parse(document.getElementById('cfg').textContent);
const PALETTE = CFG.palette;
const MAX_EVENTS = 20000, WINDOW_S = 20;
let firstEvent = null, workerNames = new Map();
const $ = (id) => document.getElementById(id);
let events = [], lastMsg = null, rows = new Map(), startedAt = null;
const token = new URLSearchParams(location.search).get('token');
const q = token ? ('?token=' + encodeURIComponent(token)) : '';
for (const a of document.querySelectorAll('nav a[data-href]')) a.href = a.dataset.href + q;

function hash(s){let h=0x811c9dc5;for(let i=0;i<s.length;i++){h^=s.charCodeAt(i);h=Math.imul(h,16777619)>>>0;}return h;}
const colorCache = new Map();
function groupColor(g){let c=colorCache.get(g);if(!c){c=PALETTE[hash(g)%PALETTE.length];colorCache.set(g,c);}return c;}
function fmtBytes(b){if(!b)return '0 B';const u=['B','kB','MB','GB','TB'];let i=0;while(b>=1000&&i<4){b/=1000;i++;}return b.toFixed(b<10&&i?1:0)+' '+u[i];}
function esc(s){return String(s).replace(/[&<>"']/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));}
function fmtTime(t){return t<60?t.toFixed(1)+' s':Math.floor(t/60)+'m '+String(Math.floor(t%60)).padStart(2,'0')+'s';}

function fitCanvas(c, h){const r=window.devicePixelRatio||1;const w=c.clientWidth;if(c.width!==w*r||c.height!==h*r){c.width=w*r;c.height=h*r;c.style.height=h+'px';}const ctx=c.getContext('2d');ctx.setTransform(r,0,0,r,0,0);return [ctx,w,h];}

// ---------------------------------------------------------------- progress
function drawProgress(groups){
  const el=$('progress'); if(!el) return;
  let done=0,total=0,erred=0;
  const names=Object.keys(groups);
  for(const n of names){const g=groups[n];total+=g.total;done+=g.memory+g.released;erred+=g.erred;}
  // active groups first, then by size; show at most 60 rows
  names.sort((a,b)=>{const A=groups[a],B=groups[b];const ra=(A.processing+A.queued+A.waiting>0)?0:1,rb=(B.processing+B.queued+B.waiting>0)?0:1;return ra-rb||B.total-A.total||(a<b?-1:1);});
  let h='';
  for(const n of names.slice(0,60)){
    const g=groups[n],t=Math.max(g.total,1),c=groupColor(n);
    const seg=(v,style)=>v?`<span style="width:${(100*v/t).toFixed(2)}%;${style}"></span>`:'';
    h+=`<div class="grp" data-group="${esc(n)}"><div class="name" title="${esc(n)}">${esc(n)}</div><div class="bar">`+
      seg(g.memory+g.released,`background:${c}`)+seg(g.erred,'background:#d62728')+seg(g.processing,`background:${c};opacity:.55`)+
      seg(g.queued,`background:${c};opacity:.3`)+seg(g.waiting,`background:${c};opacity:.12`)+
      `</div><div class="counts">${g.memory+g.released} / ${g.total}${g.erred?` <b style="color:#d62728">${g.erred} erred</b>`:''} <span class="muted">(${g.processing} proc, ${g.queued} q, ${g.waiting} w)</span></div></div>`;
  }
  if(names.length>60)h+=`<div class="muted">+${names.length-60} more groups</div>`;
  el.innerHTML=h||'<div class="muted">no tasks yet</div>';
  const tot=$('progress-total');
  tot.dataset.done=done;tot.dataset.total=total;tot.dataset.erred=erred;
  tot.textContent=`${done} / ${total} tasks done`+(erred?`, ${erred} erred`:'');
}

// ---------------------------------------------------------------- task stream
function addEvents(evs){
  for(const e of evs){events.push(e);if(firstEvent===null||e.start<firstEvent)firstEvent=e.start;const r=e.worker+' #'+e.thread;if(!rows.has(r))rows.set(r,rows.size);}
  if(events.length>MAX_EVENTS)events=events.slice(events.length-MAX_EVENTS);
}
function drawStream(now){
  const c=$('task-stream'); if(!c) return;
  const names=[...rows.keys()].sort();
  const idx=new Map(names.map((n,i)=>[n,i]));
  const rh=Math.max(8,Math.min(22,Math.floor(260/Math.max(names.length,1))));
  const left=150,top=4,h=Math.max(60,names.length*rh+top+22);
  const [ctx,w]=fitCanvas(c,h);
  ctx.clearRect(0,0,w,h);ctx.font=Math.min(11,rh)+'px sans-serif';ctx.textBaseline='middle';
  const win=Math.min(WINDOW_S,Math.max(2,Math.ceil(now-(firstEvent===null?now:firstEvent)+0.5)));
  const t1=now,t0=now-win,sx=(w-left-8)/(t1-t0);
  let drawn=0;
  for(const e of events){
    if(e.stop<t0)continue;
    const i=idx.get(e.worker+' #'+e.thread);
    const x=left+Math.max(e.start-t0,0)*sx,ww=Math.max((e.stop-Math.max(e.start,t0))*sx,1);
    let y=top+i*rh+1,hh=rh-2;
    if(e.kind==='transfer'){ctx.fillStyle='#d9534f';hh=hh/2;}
    else if(e.kind==='spill'){ctx.fillStyle='#555';y+=hh/2;hh=hh/2;}
    else if(e.kind==='error'){ctx.fillStyle='#7f0000';}
    else ctx.fillStyle=groupColor(e.group);
    ctx.fillRect(x,y,ww,hh);drawn++;
  }
  ctx.fillStyle='#333';
  names.forEach((n,i)=>{const [a,th]=n.split(' #');const lab=(workerNames.get(a)||a)+' #'+th;ctx.fillText(lab.length>22?'…'+lab.slice(-21):lab,4,top+i*rh+rh/2);});
  const ay=top+names.length*rh+4;ctx.strokeStyle='#999';ctx.beginPath();ctx.moveTo(left,ay);ctx.lineTo(w-8,ay);ctx.stroke();
  const step=win>10?5:win>4?2:1;for(let s=0;s<=win;s+=step){const x=left+(win-s)*sx;ctx.fillText(s?`-${s}s`:'now',Math.min(x-8,w-30),ay+10);}
  c.dataset.count=events.length;c.dataset.visible=drawn;c.dataset.rows=names.length;
}

// ---------------------------------------------------------------- workers
function drawMemory(workers){
  const el=$('memory'); if(!el) return;
  // scale to the busiest worker (limits are often far above use); the label names the limit
  let maxb=1;for(const w of workers)maxb=Math.max(maxb,1.25*(w.memory_managed+w.memory_unmanaged+w.memory_spilled));
  let h='';
  for(const w of workers.slice(0,200)){
    const p=v=>(100*v/maxb).toFixed(2)+'%';
    h+=`<div class="mem"><div class="name">${esc(w.name)}</div><div class="bar" title="managed ${fmtBytes(w.memory_managed)}, unmanaged ${fmtBytes(w.memory_unmanaged)}, spilled ${fmtBytes(w.memory_spilled)}">`+
      `<span style="width:${p(w.memory_managed)};background:#1f77b4"></span><span style="width:${p(w.memory_unmanaged)};background:#9ecae1"></span><span style="width:${p(w.memory_spilled)};background:#777"></span></div>`+
      `<div>${fmtBytes(w.memory_managed+w.memory_unmanaged)}${w.memory_limit?' / '+fmtBytes(w.memory_limit):''}</div></div>`;
  }
  el.innerHTML=h;
  const cpu=$('cpu'); if(!cpu) return;
  let ch='';for(const w of workers.slice(0,200)){const v=Math.min(w.cpu,100*w.nthreads);
    ch+=`<div class="mem"><div class="name">${esc(w.name)}</div><div class="bar"><span style="width:${(100*v/(100*w.nthreads)).toFixed(1)}%;background:#2ca02c"></span></div><div>${w.cpu.toFixed(0)} %</div></div>`;}
  cpu.innerHTML=ch;
}
function drawWorkersTable(workers){
  const el=$('workers-table'); if(!el) return;
  let h='<thead><tr><th>name</th><th>address</th><th>threads</th><th>cpu</th><th>memory</th><th>managed</th><th>unmanaged</th><th>spilled</th><th>limit</th><th>processing</th><th>in memory</th><th>shuffle</th></tr></thead><tbody>';
  for(const w of workers){
    h+=`<tr class="worker" data-address="${esc(w.address)}"><td><a href="/info/worker/${encodeURIComponent(w.address)}${q}">${esc(w.name)}</a></td><td>${esc(w.address)}</td><td>${w.nthreads}</td><td>${w.cpu.toFixed(0)} %</td>`+
      `<td>${fmtBytes(w.memory_managed+w.memory_unmanaged)}</td><td>${fmtBytes(w.memory_managed)}</td><td>${fmtBytes(w.memory_unmanaged)}</td><td>${fmtBytes(w.memory_spilled)}</td><td>${w.memory_limit?fmtBytes(w.memory_limit):'-'}</td><td>${w.processing}</td><td>${w.in_memory}</td><td class="shuffle">${esc(w.shuffle||'')}</td></tr>`;
  }
  el.innerHTML=h+'</tbody>';
  const n=$('n-workers'); if(n) n.textContent=workers.length;
}
function drawWorkerInfo(workers){
  const el=$('worker-info'); if(!el) return;
  const w=workers.find(w=>w.address===CFG.worker||w.name===CFG.worker);
  if(!w){el.innerHTML=`<div class="muted">worker ${esc(CFG.worker)} is not connected</div>`;return;}
  let h='<tbody>';for(const k of Object.keys(w)){let v=w[k];if(k.startsWith('memory'))v=fmtBytes(v);else if(typeof v==='number'&&!Number.isInteger(v))v=v.toFixed(1);h+=`<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`;}
  el.innerHTML=h+'</tbody>';
  const mine=events.filter(e=>e.worker===w.address||e.worker===w.name).slice(-30).reverse();
  let t='<thead><tr><th>key</th><th>group</th><th>kind</th><th>duration</th></tr></thead><tbody>';
  for(const e of mine)t+=`<tr><td>${esc(e.key)}</td><td>${esc(e.group)}</td><td>${e.kind}</td><td>${((e.stop-e.start)*1000).toFixed(1)} ms</td></tr>`;
  $('worker-tasks').innerHTML=t+'</tbody>';
}

// ---------------------------------------------------------------- task graph
let graph=null, graphPos=null;
async function loadGraph(){
  const r=await fetch('/api/graph'+q);graph=await r.json();
  const el=$('graph-note');
  if(!graph.available){el.textContent='the scheduler does not expose its task graph';return;}
  if(graph.total>graph.nodes.length)el.textContent=`showing ${graph.nodes.length} of ${graph.total} tasks`;
  else el.textContent=`${graph.nodes.length} tasks`;
  // layered layout: depth = longest path from a root
  const n=graph.nodes.length,deps=Array.from({length:n},()=>[]),depth=new Array(n).fill(0),indeg=new Array(n).fill(0),outs=Array.from({length:n},()=>[]);
  for(const [a,b] of graph.edges){outs[a].push(b);indeg[b]++;}
  const qq=[];for(let i=0;i<n;i++)if(!indeg[i])qq.push(i);
  while(qq.length){const i=qq.pop();for(const j of outs[i]){depth[j]=Math.max(depth[j],depth[i]+1);if(--indeg[j]===0)qq.push(j);}}
  const layers=[];depth.forEach((d,i)=>{(layers[d]=layers[d]||[]).push(i);});
  graphPos=new Array(n);
  layers.forEach((L,d)=>L.forEach((i,k)=>{graphPos[i]=[d,(k+0.5)/L.length];}));
  graph.depth=layers.length;
  drawGraph();
}
function drawGraph(){
  const c=$('task-graph'); if(!c||!graph||!graphPos) return;
  const [ctx,w,h]=fitCanvas(c,560);ctx.clearRect(0,0,w,h);
  const X=i=>20+(w-40)*graphPos[i][1],Y=i=>h-20-(h-40)*graphPos[i][0]/Math.max(graph.depth-1,1);
  ctx.strokeStyle='rgba(0,0,0,0.15)';ctx.beginPath();
  for(const [a,b] of graph.edges){ctx.moveTo(X(a),Y(a));ctx.lineTo(X(b),Y(b));}ctx.stroke();
  const r=graph.nodes.length>1000?2:4;
  graph.nodes.forEach((nd,i)=>{const st=nd[2];ctx.fillStyle=st==='erred'?'#d62728':groupColor(nd[1]);
    ctx.globalAlpha=st==='memory'||st==='released'?1:st==='processing'?0.6:0.2;ctx.beginPath();ctx.arc(X(i),Y(i),r,0,6.283);ctx.fill();});
  ctx.globalAlpha=1;c.dataset.nodes=graph.nodes.length;
}

// ---------------------------------------------------------------- feed
function onUpdate(msg){
  const t0=performance.now();
  lastMsg=msg;startedAt=startedAt||msg.started;
  for(const w of msg.workers)workerNames.set(w.address,w.name);
  addEvents(msg.stream);
  drawProgress(msg.groups);drawMemory(msg.workers);drawWorkersTable(msg.workers);drawWorkerInfo(msg.workers);
  drawStream(msg.time);
  const s=$('conn');if(s)s.textContent=`${msg.workers.length} workers · up ${fmtTime(msg.time-msg.started)} · updated ${new Date(msg.time*1000).toLocaleTimeString()}`;
  document.body.dataset.updates=(+document.body.dataset.updates||0)+1;
  // how long this update took to draw: the page must stay responsive
  const ms=performance.now()-t0;document.body.dataset.lastUpdateMs=ms.toFixed(1);
  document.body.dataset.maxUpdateMs=Math.max(+document.body.dataset.maxUpdateMs||0,ms).toFixed(1);
}
function connect(){
  const es=new EventSource('/api/events'+q);
  es.onmessage=(ev)=>{document.body.dataset.lastBytes=ev.data.length;try{onUpdate(JSON.parse(ev.data));}catch(err){console.error(err);}};
  es.onerror=()=>{const s=$('conn');if(s)s.textContent='disconnected, retrying…';};
}
window.addEventListener('resize',()=>{if(lastMsg)drawStream(lastMsg.time);drawGraph();});
if(CFG.page==='graph'){loadGraph();setInterval(loadGraph,2000);}
connect();
"""

_BODIES = {
    "status": """
<div class="card wide"><h2>Task stream <span class="muted">(last 20 s or less, one row per worker thread;
 red: transfer, dark red: error, grey: spill)</span></h2><canvas id="task-stream"></canvas></div>
<div class="card"><h2>Progress <span id="progress-total" data-done="0" data-total="0"></span></h2>
<div class="legend"><i style="background:#1f77b4"></i>done <i style="background:#1f77b4;opacity:.55"></i>processing
 <i style="background:#1f77b4;opacity:.3"></i>queued <i style="background:#1f77b4;opacity:.12"></i>waiting
 <i style="background:#d62728"></i>erred</div><div id="progress"></div></div>
<div class="card"><h2>Worker memory</h2><div class="legend"><i style="background:#1f77b4"></i>managed
 <i style="background:#9ecae1"></i>unmanaged <i style="background:#777"></i>spilled</div><div id="memory"></div>
<h2 style="margin-top:10px">CPU</h2><div id="cpu"></div></div>
""",
    "workers": """<div class="card wide"><h2><span id="n-workers">0</span> workers</h2>
<table id="workers-table"></table></div>""",
    "graph": """<div class="card wide"><h2>Task graph <span class="muted" id="graph-note"></span></h2>
<canvas id="task-graph"></canvas><div class="muted">bright: done, faded: waiting; colour by task group</div>
<h2 style="margin-top:10px">Progress <span id="progress-total"></span></h2><div id="progress"></div></div>""",
    "worker": """<div class="card"><h2>Worker</h2><table id="worker-info"></table></div>
<div class="card"><h2>Recent tasks</h2><table id="worker-tasks"></table></div>""",
}

_TITLES = {"status": "Status", "workers": "Workers", "graph": "Graph", "worker": "Worker"}


def page(name: str, cfg: dict) -> str:
    """The HTML of page ``name`` with ``cfg`` embedded as JSON for the script."""
    cfg = dict(cfg, palette=PALETTE)
    nav = "".join(
        f'<a data-href="/{p}" href="/{p}" class="{"active" if p == name else ""}">{t}</a>'
        for p, t in (("status", "Status"), ("workers", "Workers"), ("graph", "Graph")))
    data = json.dumps(cfg).replace("</", "<\\/")
    title = _TITLES.get(name, name)
    if name == "worker":
        title += " " + html.escape(str(cfg.get("worker", "")))
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>shoal: {title}</title>'
            f'<meta name="viewport" content="width=device-width"><style>{CSS}</style></head>'
            f'<body data-updates="0"><nav><span class="brand">shoal</span>{nav}'
            f'<span class="status" id="conn">connecting…</span></nav>'
            f'<main>{_BODIES[name]}</main>'
            f'<script id="cfg" type="application/json">{data}</script><script>{JS}</script></body></html>')
