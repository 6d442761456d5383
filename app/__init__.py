"""CARAT Live's engine (no Qt), its dashboard (app/dashboard, the only Qt code) and its command line
(app/cli, used only by main.py).

The engine, by job:
- control.py       EngineSettings, EngineOptions, EngineCallbacks: how a front end drives the engine
- engine.py        Engine: sources -> workers -> a window every hop -> predictor -> events
- stage.py         the Stage interface every stage implements (restart(at) for a seek), StageContext,
                   HealthReporter: what a stage is given instead of the engine
- sources.py       the sources a run's settings ask for (a media file, or a camera and a microphone)
- workers.py       the face, voice and speech extractor threads
- window_loop.py   the window loop: one window, one prediction, one EmotionEvent per hop
- words_in_view.py the words the speech worker heard (HeardWords) and which utterance a window scores
- inbox.py         bounded inboxes between threads, time-indexed feature buffers
- stream_stats.py  EngineStats: counters and timings
- supervisor.py    every engine thread runs under it: a crash is reported, never silent
- predictor.py     Predictor: a checkpoint, a window -> scores, decisions, deciding stream
- events.py        EmotionEvent, StreamHealth, TimedWord; events_csv.py: the one events-CSV writer
- packets.py       VideoPacket, AudioPacket, the 20 ms audio blocker; clock.py: SessionClock
- source_thread.py Source: one capture thread with health and retries; camera.py, microphone.py,
                   media_source.py: the sources; devices.py: the one device lister
- session.py       recording a session folder (session_media.py: its media.mkv, encoded on its own thread);
                   replay.py: replaying one to events files
- batch.py         many recordings, each an exact replay, as Dask tasks: batch_inputs.py (files, folders,
                   CSVs), batch_cluster.py (local or given cluster), batch_summary.py (summary.csv/.parquet)
- lab_outputs.py   the engine's lab half: calibration.py (a person's rest -> relative scores, profiles) and
                   lsl_output.py (events and markers as Lab Streaming Layer streams)
- defaults.py      where the shipped checkpoint and sample clip are
"""
