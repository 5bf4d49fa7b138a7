"""The studio: a web page over the run scripts (studio.py starts it).

  workspace.py  the workspace folder and its path rule
  commands.py   the run kinds, their fields (defaults from the settings
                table) and the validated argv of the project's scripts
  jobs.py       runs as subprocesses: queue, stop, resume, state on disk,
                re-attach after a restart
  views.py      what the pages show of a run, read from its folder
  trying.py     export (export_savedmodel.py) and try (serve.py)
  server.py     the HTTP server and its security rules
  i18n.py       the server's words in Chinese: form fields, kind titles,
                its messages (the page's language switch)
  static/       the page: index.html, i18n.js (its words in Chinese),
                app.js (plain JS, SVG charts), style.css

Nothing here imports TensorFlow or the training loop: the studio runs the
scripts as processes and reads what they write.
"""
