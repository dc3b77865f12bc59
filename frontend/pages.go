package frontend

import "html/template"

// pages holds the three page templates. The board page's markup is only
// a frame: the script fills it from the JSON API.
var pages = template.Must(template.New("pages").Parse(`
{{define "head"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Crect width='16' height='16' rx='3' fill='%23f57c00'/%3E%3Cpath d='M3 5h10M8 5v8' stroke='white' stroke-width='2'/%3E%3C/svg%3E">
<title>{{.Title}}</title>
{{if .Built}}<link rel="stylesheet" href="{{.CSS}}">{{else}}<style>body{font:15px system-ui,sans-serif;margin:2rem;color:#222}</style>{{end}}
</head>
{{end}}

{{define "notbuilt"}}<div class="notbuilt" id="not-built"><strong>frontend not built: run make build</strong></div>{{end}}

{{define "home"}}{{template "head" .}}
<body data-page="home">
<main class="home">
{{if not .Built}}{{template "notbuilt"}}{{end}}
<h1><span class="logo">tb</span>host</h1>
<p class="lead">Permanent, shareable links for TensorBoard logs. Upload a log
directory after (or during) training and send the link to anyone: scalar
charts that stay fast on week-long runs and never hide a loss spike,
histograms, distributions, images, audio, text, PR curves and hparams, and
CSV/JSON exports at full resolution.</p>

<h2>Run a server</h2>
<pre><code>tbhost serve --data ./tbhost-data</code></pre>

<h2>Upload a log directory</h2>
<pre><code>tbhost upload ./logs --name "resnet sweep" --server <span class="server-url">URL</span></code></pre>
<p>It prints the board's link and keeps a write token in a local file, so a
second upload of the same directory resumes where the first one stopped.</p>

<h2>Keep a live run in sync</h2>
<pre><code>tbhost upload ./logs --name "resnet sweep" --server <span class="server-url">URL</span> --watch</code></pre>
<p>The board shows a <em>live</em> badge while the upload runs and picks up
new points by itself.</p>

<h2>More</h2>
<ul>
<li><code>tbhost inspect ./logs</code> lists what a log directory holds, locally.</li>
<li><code>tbhost list</code>, <code>tbhost update</code>, <code>tbhost delete</code> and <code>tbhost export</code> manage boards you uploaded.</li>
<li>Boards also answer TensorBoard's own data API under <code>/experiment/&lt;id&gt;/data/</code>.</li>
</ul>
</main>
{{if .Built}}<script type="module" src="{{.JS}}"></script>{{end}}
</body>
</html>
{{end}}

{{define "board"}}{{template "head" .}}
<body data-page="board" data-board-id="{{.BoardID}}">
{{if not .Built}}{{template "notbuilt"}}{{else}}
<div id="app" class="app">
  <header id="board-header" class="board-header">
    <div class="title-row">
      <a class="home-link" href="/" title="tbhost"><span class="logo">tb</span></a>
      <h1 id="board-name">{{.Title}}</h1>
      <span id="live" class="live" hidden>live</span>
      <span id="board-meta" class="meta"></span>
      <span class="spacer"></span>
      <button id="copy-link" type="button" class="btn">Copy link</button>
    </div>
    <div id="board-description" class="description md"></div>
  </header>
  <div class="body">
    <aside id="sidebar" class="sidebar">
      <div class="runs-head">
        <input id="run-filter" type="search" placeholder="Filter runs (substring or /regex/)" autocomplete="off" spellcheck="false">
        <div class="runs-actions">
          <button id="runs-all" type="button" class="btn small">All</button>
          <button id="runs-none" type="button" class="btn small">None</button>
          <label class="check" title="Filter with a regular expression"><input id="run-regex" type="checkbox"> regex</label>
          <span id="runs-count" class="muted"></span>
        </div>
      </div>
      <div id="runs" class="runs" role="list"></div>
    </aside>
    <main id="main" class="main">
      <nav id="tabs" class="tabs" role="tablist"></nav>
      <div id="toolbar" class="toolbar"></div>
      <div id="message" class="message" hidden></div>
      <div id="content" class="content"></div>
    </main>
  </div>
</div>
{{end}}
{{if .Built}}<script type="module" src="{{.JS}}"></script>{{end}}
</body>
</html>
{{end}}

{{define "notfound"}}{{template "head" .}}
<body data-page="notfound">
<main class="home notfound" id="notfound">
{{if not .Built}}{{template "notbuilt"}}{{end}}
<p class="status">{{.Status}}</p>
<h1>Board not found</h1>
<p class="lead">There is no board {{if .BoardID}}<code id="missing-id">{{.BoardID}}</code> {{end}}on this server. The link may be
mistyped, or the board was deleted by its owner. A private board also needs
its <code>?key=</code> in the link.</p>
<p><a href="/">What is tbhost and how to upload a board</a></p>
</main>
</body>
</html>
{{end}}
`))
