"""``doit report``: one self-contained HTML page for the last run (nothing fetched).

It shows the test summary table, the slowest tests, failures with their output, flaky tests
and a timeline of the run's tasks per worker (from ``cache/runs/<id>.json``). Tables are
rendered here; the timeline is drawn by the page's own script, which marks
``<body data-rendered="ok">`` when it finished without error (the browser test reads it).
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from conjure.errors import ConfigError

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1d2430;background:#fafbfc}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;background:#fff}td,th{padding:.3rem .7rem;border:1px solid #dde2e8}
th{background:#eef1f5;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
.failed{color:#b42318;font-weight:600}.flaky{color:#b54708}.ok{color:#067647}
pre{background:#11161d;color:#e6edf3;padding:.8rem;overflow:auto;max-height:24rem;font-size:12px}
details{margin:.4rem 0}summary{cursor:pointer}
#timeline svg{background:#fff;border:1px solid #dde2e8}
.muted{color:#667085}
"""

_JS = """
(function(){
  var body=document.body;
  try{
    var data=JSON.parse(document.getElementById('run-data').textContent);
    var tasks=(data.tasks||[]).filter(function(t){return t.start!==null&&t.end!==null;});
    var box=document.getElementById('timeline');
    if(!tasks.length){box.textContent='No task ran in this run.';body.dataset.rendered='ok';return;}
    var t0=Math.min.apply(null,tasks.map(function(t){return t.start;}));
    var t1=Math.max.apply(null,tasks.map(function(t){return t.end;}));
    var span=Math.max(t1-t0,0.001),workers={};
    tasks.forEach(function(t){workers[t.worker||0]=1;});
    var ids=Object.keys(workers).map(Number).sort(function(a,b){return a-b;});
    var W=1000,L=90,row=28,H=ids.length*row+40,ns='http://www.w3.org/2000/svg';
    var svg=document.createElementNS(ns,'svg');
    svg.setAttribute('width',W);svg.setAttribute('height',H);svg.setAttribute('role','img');
    function el(name,attrs,text){var e=document.createElementNS(ns,name);
      for(var k in attrs){e.setAttribute(k,attrs[k]);}
      if(text){e.textContent=text;} svg.appendChild(e);return e;}
    ids.forEach(function(w,i){el('text',{x:4,y:i*row+20,'font-size':12},'worker '+w);});
    var colors={ran:'#2e90fa',failed:'#f04438',cancelled:'#98a2b3'};
    tasks.forEach(function(t){
      var i=ids.indexOf(t.worker||0),x=L+(t.start-t0)/span*(W-L-10);
      var w=Math.max(2,(t.end-t.start)/span*(W-L-10));
      var r=el('rect',{x:x,y:i*row+6,width:w,height:row-10,rx:3,fill:colors[t.status]||'#12b76a',
        'class':'task','data-task':t.name});
      var tip=document.createElementNS(ns,'title');
      tip.textContent=t.name+' ('+t.status+') '+(t.end-t.start).toFixed(2)+'s';r.appendChild(tip);
      if(w>60){el('text',{x:x+4,y:i*row+21,'font-size':11,fill:'#fff'},t.name.slice(0,Math.floor(w/7)));}
    });
    el('text',{x:L,y:H-8,'font-size':11,fill:'#667085'},'0s');
    el('text',{x:W-60,y:H-8,'font-size':11,fill:'#667085'},span.toFixed(2)+'s');
    box.appendChild(svg);
    body.dataset.rendered='ok';
  }catch(err){body.dataset.rendered='error: '+err;throw err;}
})();
"""


def latest_run(cache_dir: Path) -> dict[str, Any]:
    """The newest run record under ``cache/runs``.

    Raises:
        ConfigError: there is no run record yet, or it is not JSON.
    """
    records = sorted((cache_dir / "runs").glob("*.json"))
    if not records:
        raise ConfigError(f"no run recorded under {cache_dir / 'runs'}: run some tasks first")
    try:
        data: dict[str, Any] = json.loads(records[-1].read_text(encoding="utf-8"))
    except ValueError as err:
        raise ConfigError(f"unreadable run record {records[-1]}: {err}") from None
    return data


def render_report(run: dict[str, Any], summary: dict[str, Any] | None, note: str = "") -> str:
    """The HTML page for a run record and a test summary (None when tests never ran).

    Args:
        run: a run record (``cache/runs/<id>.json``), or one made up from merged shards.
        summary: the test summary.
        note: a paragraph shown under the title (what the page was made from).
    """
    e = html.escape
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>conjure run {e(str(run.get('run_id', '')))}</title><style>{_CSS}</style></head>",
        "<body data-rendered='no'>",
        f"<h1>conjure run {e(str(run.get('run_id', '')))}</h1>",
        f"<p class='muted'>doit {e(' '.join(run.get('argv', [])))} &middot; exit code "
        f"{e(str(run.get('exit_code')))} &middot; {float(run.get('elapsed', 0)):.2f}s on "
        f"{e(str(run.get('jobs')))} worker(s) &middot; {_counts(run)}</p>",
        *([f"<p id='note'>{e(note)}</p>"] if note else []),
        "<h2>Timeline</h2><div id='timeline'></div>",
    ]
    parts += _test_sections(summary) if summary else ["<p>No test summary recorded yet.</p>"]
    data = json.dumps({"tasks": run.get("tasks", [])}).replace("</", "<\\/")
    parts.append(f"<script type='application/json' id='run-data'>{data}</script>")
    parts.append(f"<script>{_JS}</script></body></html>")
    return "\n".join(parts)


def _counts(run: dict[str, Any]) -> str:
    counts = run.get("counts") or {}
    return ", ".join(f"{v} {html.escape(str(k))}" for k, v in sorted(counts.items())) or "no tasks"


def _test_sections(summary: dict[str, Any]) -> list[str]:
    e = html.escape
    rows = []
    for row in summary.get("suites", []):
        status = "failed" if row["failed"] else "ok"
        rows.append(
            f"<tr><td class='{status}'>{e(row['suite'])}</td>"
            + "".join(
                f"<td class='n'>{row[k]}</td>" for k in ("passed", "failed", "skipped", "flaky")
            )
            + f"<td class='n'>{row['duration']:.2f}s</td></tr>"
        )
    parts = [
        "<h2>Test suites</h2><table id='summary'><tr><th>suite</th><th>passed</th><th>failed</th>"
        "<th>skipped</th><th>flaky</th><th>duration</th></tr>",
        *rows,
        "</table>",
        "<h2>Slowest tests</h2><table id='slowest'>",
        "<tr><th>test</th><th>suite</th><th>time</th></tr>",
        *(
            f"<tr><td>{e(c['id'])}</td><td>{e(c['suite'])}</td>"
            f"<td class='n'>{c['duration']:.3f}s</td></tr>"
            for c in summary.get("slowest", [])
        ),
        "</table>",
        f"<h2>Failures ({len(summary.get('failures', []))})</h2>",
        *(_failure(c, "failed") for c in summary.get("failures", [])),
        f"<h2>Flaky tests ({len(summary.get('flaky', []))})</h2>",
        *(_failure(c, "flaky") for c in summary.get("flaky", [])),
    ]
    return parts


def _failure(case: dict[str, Any], css: str) -> str:
    e = html.escape
    return (
        f"<details class='case'><summary><span class='{css}'>{e(case['id'])}</span> "
        f"({e(case['suite'])}) {e(case.get('message') or '')}</summary>"
        f"<pre>{e(case.get('output') or '')}</pre></details>"
    )


def write_report(cache_dir: Path, out: Path | None = None) -> Path:
    """Writes the page for the last run; returns its path (``cache/report.html`` by default).

    Raises:
        ConfigError: no run was recorded yet.
    """
    run = latest_run(cache_dir)
    summary_path = cache_dir / "testing" / "summary.json"
    summary = (
        json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.is_file() else None
    )
    path = out or cache_dir / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(run, summary), encoding="utf-8")
    return path
